using System.Text;
using Xunit;

namespace MmapKv.Tests;

public class BasicTests
{
    [Fact]
    public void PutGetDelete_RoundTrips_AcrossReopen()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginWrite())
            {
                tx.Put("key"u8, "value"u8);
                tx.Put("gone"u8, "x"u8);
                Assert.True(tx.Delete("gone"u8));
                Assert.False(tx.Delete("never"u8));
                Assert.True(tx.TryGet("key"u8, out var v));
                Assert.Equal("value", Bytes.Str(v));
                tx.Commit();
            }
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("key"u8, out var v));
                Assert.Equal("value", Bytes.Str(v));
                Assert.False(tx.TryGet("gone"u8, out _));
            }
        }
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("key"u8, out var v));
            Assert.Equal("value", Bytes.Str(v));
            Assert.True(db.Check().IsValid);
        }
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(16384)]
    [InlineData(65536)]
    public void ManyKeys_SplitAndMerge_KeepOrderAndShrink(int pageSize)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { PageSize = pageSize });
        const int n = 20000;
        var rng = new Random(42);
        var keys = Enumerable.Range(0, n).Select(i => $"k{i:D8}").OrderBy(_ => rng.Next()).ToArray();
        using (var tx = db.BeginWrite())
        {
            foreach (var k in keys) tx.Put(Bytes.Of(k), Bytes.Of("v" + k + new string('x', k.Length % 50)));
            tx.Commit();
        }
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
        var grown = db.GetStats().Main;
        Assert.Equal(n, grown.Entries);
        Assert.True(grown.Depth >= 2);

        using (var tx = db.BeginRead())
        using (var c = tx.OpenCursor())
        {
            int count = 0;
            string? prev = null;
            for (bool ok = c.First(); ok; ok = c.Next())
            {
                string k = Bytes.Str(c.Key);
                if (prev != null) Assert.True(string.CompareOrdinal(prev, k) < 0);
                Assert.Equal("v" + k + new string('x', k.Length % 50), Bytes.Str(c.Value));
                prev = k;
                count++;
            }
            Assert.Equal(n, count);
        }
        using (var tx = db.BeginWrite())
        {
            foreach (var k in keys.Take(n - 10)) Assert.True(tx.Delete(Bytes.Of(k)));
            tx.Commit();
        }
        report = db.Check();
        Assert.True(report.IsValid, report.ToString());
        var shrunk = db.GetStats().Main;
        Assert.Equal(10, shrunk.Entries);
        Assert.True(shrunk.Depth <= 2, $"depth {shrunk.Depth}");
        Assert.True(shrunk.LeafPages + shrunk.BranchPages <= 3, $"{shrunk.LeafPages} leaves, {shrunk.BranchPages} branches");
    }

    [Fact]
    public void LargeValues_UseOverflowRuns()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var big = new byte[5_000_000];
        new Random(1).NextBytes(big);
        using (var tx = db.BeginWrite())
        {
            tx.Put("big"u8, big);
            tx.Put("empty"u8, ReadOnlySpan<byte>.Empty);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("big"u8, out var v));
            Assert.True(v.SequenceEqual(big));
            Assert.True(tx.TryGet("empty"u8, out var e));
            Assert.Equal(0, e.Length);
        }
        Assert.True(db.Check().IsValid);
        Assert.True(db.GetStats().Main.OverflowPages >= big.Length / 4096);
    }
}
