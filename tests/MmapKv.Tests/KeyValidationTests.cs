using System.Buffers.Binary;
using MmapKv.Format;
using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Empty and oversized keys and tree names are refused with ArgumentException; a key of exactly MaxKeySize works.
/// </summary>
public class KeyValidationTests
{
    public static TheoryData<int> BadKeyLengths => new() { 0, 997, 1000, 5000 };

    [Theory]
    [MemberData(nameof(BadKeyLengths))]
    public void KeyOperations_EmptyOrOversizedKey_ThrowArgumentException(int length)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        Assert.Equal(996, db.MaxKeySize);
        var bad = new byte[length];
        Array.Fill(bad, (byte)'k');
        using (var tx = db.BeginWrite())
        {
            Assert.Throws<ArgumentException>(() => tx.Put(bad, "v"u8));
            Assert.Throws<ArgumentException>(() => tx.TryGet(bad, out _));
            Assert.Throws<ArgumentException>(() => tx.Delete(bad));
            using (var c = tx.OpenCursor()) Assert.Throws<ArgumentException>(() => c.Seek(bad));
            var tree = tx.OpenTree("named");
            Assert.Throws<ArgumentException>(() => tree.Put(bad, "v"u8));
            Assert.Throws<ArgumentException>(() => tree.TryGet(bad, out _));
            Assert.Throws<ArgumentException>(() => tree.Delete(bad));
            using (var c = tree.OpenCursor()) Assert.Throws<ArgumentException>(() => c.Seek(bad));
            tx.Put("ok"u8, "v"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.Throws<ArgumentException>(() => tx.TryGet(bad, out _));
            using (var c = tx.OpenCursor()) Assert.Throws<ArgumentException>(() => c.Seek(bad));
            var tree = tx.OpenTree("named");
            Assert.Throws<ArgumentException>(() => tree.TryGet(bad, out _));
        }
    }

    [Fact]
    public void Put_InvalidKey_DoesNotAbortTheTransaction()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.Put("before"u8, "1"u8);
            Assert.Throws<ArgumentException>(() => tx.Put(ReadOnlySpan<byte>.Empty, "v"u8));
            Assert.Throws<ArgumentException>(() => tx.Put(new byte[db.MaxKeySize + 1], "v"u8));
            tx.Put("after"u8, "2"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("before"u8, out _));
            Assert.True(tx.TryGet("after"u8, out _));
        }
    }

    [Fact]
    public void OpenTree_EmptyOrOversizedName_ThrowsArgumentException()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        Assert.Throws<ArgumentException>(() => tx.OpenTree(""));
        Assert.Throws<ArgumentException>(() => tx.OpenTree(new string('t', db.MaxKeySize + 1)));
        Assert.Throws<ArgumentNullException>(() => tx.OpenTree(null!));
        tx.OpenTree(new string('t', db.MaxKeySize)); // exactly the limit is fine
    }

    [Theory]
    [InlineData(4096, 4)]       // inline value
    [InlineData(4096, 5000)]    // overflow value
    [InlineData(65536, 4)]
    [InlineData(65536, 70000)]
    public void Put_KeyOfExactlyMaxKeySize_Works(int pageSize, int valueLength)
    {
        using var dir = new TempDir();
        const int n = 30;
        byte[] MaxKey(int i)
        {
            // Long shared prefix (equal hints), distinguished only by the last bytes.
            var k = new byte[Limits.MaxKeySize(pageSize)];
            Array.Fill(k, (byte)'k');
            BinaryPrimitives.WriteUInt16BigEndian(k.AsSpan(k.Length - 2), (ushort)i);
            return k;
        }
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { PageSize = pageSize }))
        {
            Assert.Equal(Limits.MaxKeySize(pageSize), db.MaxKeySize);
            using (var tx = db.BeginWrite())
            {
                foreach (int i in Enumerable.Range(0, n).OrderBy(i => (i * 7) % n)) tx.Put(MaxKey(i), Value(i, valueLength));
                Assert.True(tx.TryGet(MaxKey(3), out var v));
                Assert.True(v.SequenceEqual(Value(3, valueLength)));
                tx.Commit();
            }
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            Assert.True(db.GetStats().Main.Depth >= 2, "expected the large keys to split the tree");
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginRead())
            using (var c = tx.OpenCursor())
            {
                int i = 0;
                for (bool ok = c.First(); ok; ok = c.Next(), i++)
                {
                    Assert.True(c.Key.SequenceEqual(MaxKey(i)), $"entry {i}");
                    Assert.True(c.Value.SequenceEqual(Value(i, valueLength)), $"value {i}");
                }
                Assert.Equal(n, i);
                Assert.True(c.Seek(MaxKey(17)));
                Assert.True(c.Key.SequenceEqual(MaxKey(17)));
            }
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < n; i += 2) Assert.True(tx.Delete(MaxKey(i)));
                tx.Commit();
            }
            Assert.Equal(n / 2, db.GetStats().Main.Entries);
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
        }
    }
}
