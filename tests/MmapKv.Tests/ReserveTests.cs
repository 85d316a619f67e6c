using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// WriteTransaction.Reserve and KvTree.Reserve: the returned span is the value's place in the file, inline or in an
/// overflow run; what the caller writes there before the next write is what is committed, checksums included.
/// </summary>
public class ReserveTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var v = new byte[length];
        new Random(seed).NextBytes(v);
        return v;
    }

    /// <summary>Inline sizes (up to the leaf's limit) and overflow sizes (one page, several pages) round-trip, with checksums verified after reopen.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(150)]
    [InlineData(1000)]   // still inline with 4 KiB pages
    [InlineData(1100)]   // an overflow run of one page
    [InlineData(4096)]   // a run of two pages
    [InlineData(300_000)]
    public void Reserve_ThenFill_RoundTripsAfterReopen(int length)
    {
        using var dir = new TempDir();
        var value = Pattern(length, length);
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            var span = tx.Reserve("key"u8, length);
            Assert.Equal(length, span.Length);
            value.CopyTo(span);
            // Visible inside the transaction at once.
            Assert.True(tx.TryGet("key"u8, out var inTx));
            Assert.True(inTx.SequenceEqual(value));
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { VerifyChecksums = true }))
        {
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("key"u8, out var v));
                Assert.True(v.SequenceEqual(value));
            }
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            // 1001 bytes is the largest inline value for a 3-byte key with 4 KiB pages (format.md §4.4).
            Assert.Equal(length > 1001, db.GetStats().Main.OverflowPages > 0);
        }
    }

    /// <summary>A reserve filled, then more writes (which may split the leaf and move entries), then a read: every value is intact.</summary>
    [Fact]
    public void Reserve_ThenOtherPuts_KeepsFilledValue()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var reserved = Pattern(200, 1);
        var large = Pattern(10_000, 2);
        using (var tx = db.BeginWrite())
        {
            reserved.CopyTo(tx.Reserve("m-reserved"u8, reserved.Length));
            large.CopyTo(tx.Reserve("m-large"u8, large.Length));
            for (int i = 0; i < 2000; i++) tx.Put(Bytes.Of($"k{i:D5}"), Pattern(60, i)); // splits the leaf many times
            Assert.True(tx.TryGet("m-reserved"u8, out var r1));
            Assert.True(r1.SequenceEqual(reserved));
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("m-reserved"u8, out var r));
            Assert.True(r.SequenceEqual(reserved));
            Assert.True(tx.TryGet("m-large"u8, out var l));
            Assert.True(l.SequenceEqual(large));
            for (int i = 0; i < 2000; i += 97)
            {
                Assert.True(tx.TryGet(Bytes.Of($"k{i:D5}"), out var v));
                Assert.True(v.SequenceEqual(Pattern(60, i)));
            }
        }
        Assert.True(db.Check().IsValid);
    }

    /// <summary>Reserving an existing key replaces its value, inline by overflow and back, and frees the old overflow run.</summary>
    [Fact]
    public void Reserve_ExistingKey_ReplacesValueAndFreesOldRun()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, Pattern(20_000, 1));
            tx.Commit();
        }
        Assert.True(db.GetStats().Main.OverflowPages > 0);
        var small = Pattern(30, 2);
        using (var tx = db.BeginWrite())
        {
            small.CopyTo(tx.Reserve("k"u8, small.Length));
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("k"u8, out var v));
            Assert.True(v.SequenceEqual(small));
        }
        var stats = db.GetStats();
        Assert.Equal(0, stats.Main.OverflowPages);
        Assert.Equal(1, stats.Main.Entries);
        var big = Pattern(9000, 3);
        using (var tx = db.BeginWrite())
        {
            big.CopyTo(tx.Reserve("k"u8, big.Length));
            var again = Pattern(5000, 4); // a second reserve of the same key in the same transaction
            again.CopyTo(tx.Reserve("k"u8, again.Length));
            tx.Commit();
            big = again;
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("k"u8, out var v));
            Assert.True(v.SequenceEqual(big));
        }
        Assert.Equal(1, db.GetStats().Main.Entries);
        Assert.True(db.Check().IsValid);
    }

    /// <summary>KvTree.Reserve writes into a named tree, not the default one.</summary>
    [Fact]
    public void TreeReserve_WritesIntoNamedTree()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var value = Pattern(3000, 5);
        using (var tx = db.BeginWrite())
        {
            value.CopyTo(tx.OpenTree("named").Reserve("k"u8, value.Length));
            tx.Commit();
        }
        using var read = db.BeginRead();
        Assert.False(read.TryGet("k"u8, out _));
        Assert.True(read.OpenTree("named").TryGet("k"u8, out var v));
        Assert.True(v.SequenceEqual(value));
    }

    /// <summary>A reserve that is never filled still commits a valid page (the checksum is computed at commit over whatever is there).</summary>
    [Fact]
    public void Reserve_Unfilled_StillCommitsValidPages()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Reserve("inline"u8, 100);
            tx.Reserve("overflow"u8, 50_000);
            tx.Commit();
        }
        using var reopened = KvDatabase.Open(dir.File(), new KvOptions { VerifyChecksums = true });
        using (var tx = reopened.BeginRead())
        {
            Assert.True(tx.TryGet("inline"u8, out var a));
            Assert.Equal(100, a.Length);
            Assert.True(tx.TryGet("overflow"u8, out var b));
            Assert.Equal(50_000, b.Length);
        }
        Assert.True(reopened.Check().IsValid);
    }

    /// <summary>A negative length is an ArgumentOutOfRangeException naming the parameter and the limit; the transaction stays usable.</summary>
    [Fact]
    public void Reserve_NegativeLength_ThrowsArgumentOutOfRange()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tx.Reserve("k"u8, -1));
        Assert.Equal("length", e.ParamName);
        Assert.Contains(int.MaxValue.ToString(), e.Message);
        var tree = tx.OpenTree("t");
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Reserve("k"u8, int.MinValue));
        tx.Put("k"u8, "v"u8); // not aborted by bad arguments
        tx.Commit();
    }

    /// <summary>Reserve gets the same errors as Put: a bad key, a read-only tree handle, an ended transaction.</summary>
    [Fact]
    public void Reserve_Misuse_ThrowsLikePut()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            Assert.Throws<ArgumentException>(() => tx.Reserve(ReadOnlySpan<byte>.Empty, 1));
            Assert.Throws<ArgumentException>(() => tx.Reserve(new byte[db.MaxKeySize + 1], 1));
            tx.OpenTree("t");
            tx.Commit();
            Assert.Throws<ObjectDisposedException>(() => tx.Reserve("k"u8, 1));
        }
        using var read = db.BeginRead();
        var readTree = read.OpenTree("t");
        var put = Assert.Throws<InvalidOperationException>(() => readTree.Put("k"u8, "v"u8));
        var reserve = Assert.Throws<InvalidOperationException>(() => readTree.Reserve("k"u8, 1));
        Assert.Equal(put.Message, reserve.Message);
    }

    /// <summary>A reserve in an aborted transaction leaves nothing behind.</summary>
    [Fact]
    public void Reserve_ThenAbort_DiscardsValue()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            "value"u8.CopyTo(tx.Reserve("k"u8, 5));
            Pattern(20_000, 1).CopyTo(tx.Reserve("big"u8, 20_000));
        }
        using var read = db.BeginRead();
        Assert.False(read.TryGet("k"u8, out _));
        Assert.False(read.TryGet("big"u8, out _));
        Assert.True(db.Check().IsValid);
    }
}
