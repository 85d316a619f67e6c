using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Scan, ScanPrefix, Reverse and AsEnumerable: bounds (inclusive from, exclusive to, empty = open), prefix edge
/// cases, descending order, named trees, a write transaction's own writes, and the errors of an ended transaction,
/// a write during a scan and a default scan.
/// </summary>
public class ScanTests
{
    private static readonly string[] Keys = ["a", "ab", "abc", "abd", "b", "ba", "c"];

    private static KvDatabase OpenFilled(TempDir dir)
    {
        var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        foreach (var k in Keys) tx.Put(Bytes.Of(k), Bytes.Of(k.ToUpperInvariant()));
        var t = tx.OpenTree("t");
        t.Put("x1"u8, "X1"u8);
        t.Put("x2"u8, "X2"u8);
        t.Put("y"u8, "Y"u8);
        tx.Commit();
        return db;
    }

    /// <summary>Keys of a scan, checking each value is the one stored with it (the key upper-cased).</summary>
    private static string Collect(KvScan scan)
    {
        var keys = new List<string>();
        foreach (var e in scan)
        {
            string k = Bytes.Str(e.Key);
            Assert.Equal(k.ToUpperInvariant(), Bytes.Str(e.Value));
            keys.Add(k);
        }
        return string.Join(",", keys);
    }

    [Fact]
    public void Scan_FromInclusiveToExclusive_EmptyBoundsAreOpen()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        Assert.Equal("a,ab,abc,abd,b,ba,c", Collect(r.Scan()));
        Assert.Equal("a,ab,abc,abd,b,ba,c", Collect(r.Scan(default, default)));
        Assert.Equal("ab,abc,abd", Collect(r.Scan("ab"u8, "b"u8)));      // to excluded
        Assert.Equal("abc,abd,b", Collect(r.Scan("abb"u8, "ba"u8)));     // bounds that are not keys
        Assert.Equal("b,ba,c", Collect(r.Scan("b"u8, default)));         // open to
        Assert.Equal("a,ab", Collect(r.Scan(default, "abc"u8)));          // open from
        Assert.Equal("", Collect(r.Scan("b"u8, "b"u8)));                 // empty range
        Assert.Equal("", Collect(r.Scan("c"u8, "a"u8)));                 // from after to
        Assert.Equal("", Collect(r.Scan("d"u8, default)));               // past the last key
        Assert.Equal("a", Collect(r.Scan("\0"u8, "aa"u8)));               // before the first key
    }

    [Fact]
    public void Reverse_GivesTheSameRangeDescending()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        Assert.Equal("c,ba,b,abd,abc,ab,a", Collect(r.Scan().Reverse()));
        Assert.Equal("abd,abc,ab", Collect(r.Scan("ab"u8, "b"u8).Reverse()));
        Assert.Equal("b,abd,abc", Collect(r.Scan("abb"u8, "ba"u8).Reverse()));
        Assert.Equal("c,ba,b", Collect(r.Scan("b"u8, default).Reverse()));
        Assert.Equal("ab,a", Collect(r.Scan(default, "abc"u8).Reverse()));
        Assert.Equal("", Collect(r.Scan("c"u8, "a"u8).Reverse()));
        Assert.Equal("c", Collect(r.Scan("c"u8, "zz"u8).Reverse()));
        Assert.Equal("", Collect(r.Scan(default, "a"u8).Reverse()));    // nothing before the first key
        var scan = r.Scan("ab"u8, "b"u8);
        Assert.False(scan.IsReversed);
        Assert.True(scan.Reverse().IsReversed);
        Assert.Equal("ab,abc,abd", Collect(scan.Reverse().Reverse()));
    }

    [Fact]
    public void ScanPrefix_HoldsExactlyTheKeysWithThePrefix_InBothOrders()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        Assert.Equal("ab,abc,abd", Collect(r.ScanPrefix("ab"u8)));
        Assert.Equal("abd,abc,ab", Collect(r.ScanPrefix("ab"u8).Reverse()));
        Assert.Equal("a,ab,abc,abd", Collect(r.ScanPrefix("a"u8)));
        Assert.Equal("abc", Collect(r.ScanPrefix("abc"u8)));
        Assert.Equal("", Collect(r.ScanPrefix("abcd"u8)));              // longer than every key with it
        Assert.Equal("", Collect(r.ScanPrefix("aa"u8)));
        Assert.Equal("", Collect(r.ScanPrefix("aa"u8).Reverse()));
        Assert.Equal("c", Collect(r.ScanPrefix("c"u8).Reverse()));       // the last key
        Assert.Equal("a,ab,abc,abd,b,ba,c", Collect(r.ScanPrefix(default))); // empty prefix: everything
        Assert.Equal("c,ba,b,abd,abc,ab,a", Collect(r.ScanPrefix(default).Reverse()));
    }

    /// <summary>0xFF bytes at the end of a prefix have no successor byte: the reverse walk must still start after
    /// the last key with the prefix, and a prefix of only 0xFF bytes runs to the end of the tree.</summary>
    [Fact]
    public void ScanPrefix_WithTrailingFFBytes_AndAllFF_FindsExactlyItsKeys()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        byte[][] keys =
        [
            [0x01], [0x01, 0xFF], [0x01, 0xFF, 0x00], [0x01, 0xFF, 0xFF], [0x01, 0xFF, 0xFF, 0x07], [0x02],
            [0xFE, 0xFF], [0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF],
        ];
        using (var tx = db.BeginWrite())
        {
            foreach (var k in keys) tx.Put(k, k);
            tx.Commit();
        }
        using var r = db.BeginRead();
        string Hex(KvScan s)
        {
            var l = new List<string>();
            foreach (var (k, v) in s)
            {
                Assert.True(k.SequenceEqual(v));
                l.Add(Convert.ToHexString(k));
            }
            return string.Join(",", l);
        }
        Assert.Equal("01FF,01FF00,01FFFF,01FFFF07", Hex(r.ScanPrefix([0x01, 0xFF])));
        Assert.Equal("01FFFF07,01FFFF,01FF00,01FF", Hex(r.ScanPrefix([0x01, 0xFF]).Reverse()));
        Assert.Equal("01FFFF07,01FFFF", Hex(r.ScanPrefix([0x01, 0xFF, 0xFF]).Reverse()));
        Assert.Equal("FF,FF00,FFFF,FFFFFF", Hex(r.ScanPrefix([0xFF])));
        Assert.Equal("FFFFFF,FFFF,FF00,FF", Hex(r.ScanPrefix([0xFF]).Reverse()));
        Assert.Equal("FFFFFF,FFFF", Hex(r.ScanPrefix([0xFF, 0xFF]).Reverse()));
        Assert.Equal("FFFFFF", Hex(r.ScanPrefix([0xFF, 0xFF, 0xFF])));
        Assert.Equal("", Hex(r.ScanPrefix([0xFF, 0xFF, 0xFF, 0xFF]).Reverse()));
        Assert.Equal("FEFF", Hex(r.ScanPrefix([0xFE]).Reverse()));
        // A prefix longer than any key may be, and one longer than the stack buffer for its successor.
        Assert.Equal("", Hex(r.ScanPrefix(new byte[db.MaxKeySize + 10]).Reverse()));
        var longPrefix = Enumerable.Repeat((byte)0x01, 300).ToArray();
        Assert.Equal("", Hex(r.ScanPrefix(longPrefix).Reverse()));
        Assert.Equal("", Hex(r.ScanPrefix(longPrefix)));
    }

    [Fact]
    public void BoundsOfAnyLength_AreAllowed()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        var longA = new byte[db.MaxKeySize + 100];
        longA[0] = (byte)'a';
        Assert.Equal("ab,abc,abd,b,ba,c", Collect(r.Scan(longA, default)));
        Assert.Equal("a", Collect(r.Scan(default, longA)));
        Assert.Equal("a", Collect(r.Scan(default, longA).Reverse()));
    }

    [Fact]
    public void NamedTrees_ScanOnlyTheirOwnEntries()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        var t = r.OpenTree("t");
        Assert.Equal("x1,x2,y", Collect(t.Scan()));
        Assert.Equal("y,x2,x1", Collect(t.Scan().Reverse()));
        Assert.Equal("x1,x2", Collect(t.ScanPrefix("x"u8)));
        Assert.Equal("x2", Collect(t.Scan("x2"u8, "y"u8)));
        using var w = db.BeginWrite();
        var empty = w.OpenTree("empty");
        Assert.Equal("", Collect(empty.Scan()));
        Assert.Equal("", Collect(empty.Scan().Reverse()));
        Assert.Equal("", Collect(empty.ScanPrefix("x"u8).Reverse()));
        Assert.Equal("x1,x2,y", Collect(w.OpenTree("t").Scan()));
    }

    [Fact]
    public void WriteTransaction_ScanSeesItsOwnUncommittedWrites()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var w = db.BeginWrite();
        w.Put("aa"u8, "AA"u8);
        w.Delete("b"u8);
        w.OpenTree("t").Put("x3"u8, "X3"u8);
        Assert.Equal("a,aa,ab,abc,abd,ba,c", Collect(w.Scan()));
        Assert.Equal("ba,abd,abc,ab,aa,a", Collect(w.Scan(default, "c"u8).Reverse()));
        Assert.Equal("a,aa,ab,abc,abd", Collect(w.ScanPrefix("a"u8)));
        Assert.Equal("x1,x2,x3", Collect(w.OpenTree("t").ScanPrefix("x"u8)));
        // A committed snapshot does not see them.
        using var r = db.BeginRead();
        Assert.Equal("a,ab,abc,abd,b,ba,c", Collect(r.Scan()));
    }

    [Fact]
    public void AScan_IsLazyAndRepeatable_AndCanWriteBetweenEnumerations()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var w = db.BeginWrite();
        var scan = w.ScanPrefix("b"u8);
        w.Put("bb"u8, "BB"u8); // before the enumeration starts: seen
        Assert.Equal("b,ba,bb", Collect(scan));
        w.Put("bc"u8, "BC"u8); // between enumerations: seen by the next
        Assert.Equal("b,ba,bb,bc", Collect(scan));
    }

    [Fact]
    public void AWriteDuringTheScan_MakesItsNextStepThrow()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var w = db.BeginWrite();
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var entry in w.Scan())
                w.Put("zz"u8, entry.Value);
        });
        Assert.Contains("written to during the scan", e.Message);
        // A write to another tree counts too: it may move pages of this one's path (the writer's scratch is shared).
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var entry in w.Scan().Reverse()) w.OpenTree("t").Delete("y"u8);
        });
        // The transaction itself is fine and commits.
        w.Commit();
        using var r = db.BeginRead();
        Assert.True(r.TryGet("zz"u8, out _));
    }

    [Fact]
    public void EndedReadTransaction_ScanAndItsEnumeratorThrowObjectDisposed_EvenAfterTheStateIsReused()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        var r = db.BeginRead();
        var tree = r.OpenTree("t");
        var e = r.Scan().GetEnumerator();
        Assert.True(e.MoveNext());
        var te = tree.ScanPrefix("x"u8).Reverse().GetEnumerator();
        Assert.True(te.MoveNext());
        r.Dispose();
        using var next = db.BeginRead(); // reuses the state (L5)
        Assert.Same(r.RawState, next.RawState);
        try { e.MoveNext(); Assert.Fail("MoveNext after the end did not throw"); } catch (ObjectDisposedException) { }
        try { te.MoveNext(); Assert.Fail("MoveNext after the end did not throw"); } catch (ObjectDisposedException) { }
        Assert.Throws<ObjectDisposedException>(() => r.Scan());
        Assert.Throws<ObjectDisposedException>(() => r.Scan("a"u8, "b"u8));
        Assert.Throws<ObjectDisposedException>(() => r.ScanPrefix("a"u8));
        Assert.Throws<ObjectDisposedException>(() => tree.Scan());
        Assert.Equal("a,ab,abc,abd,b,ba,c", Collect(next.Scan())); // the new user is undisturbed
    }

    [Fact]
    public void EndedWriteTransaction_ScanAndItsEnumeratorThrowObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        var w = db.BeginWrite();
        var tree = w.OpenTree("t");
        var entries = w.Scan().AsEnumerable();
        var e = w.Scan().GetEnumerator();
        Assert.True(e.MoveNext());
        w.Commit();
        using var w2 = db.BeginWrite(); // reuses the writer's state (W4)
        try { e.MoveNext(); Assert.Fail("MoveNext after the end did not throw"); } catch (ObjectDisposedException) { }
        Assert.Throws<ObjectDisposedException>(() => w.Scan());
        Assert.Throws<ObjectDisposedException>(() => tree.ScanPrefix("x"u8));
        Assert.Throws<ObjectDisposedException>(() => entries.ToList());
        w2.Put("q"u8, "Q"u8);
        Assert.Equal("a,ab,abc,abd,b,ba,c,q", Collect(w2.Scan()));
    }

    [Fact]
    public void DisposedDatabase_AnOpenScanThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        var db = OpenFilled(dir);
        var r = db.BeginRead();
        var e = r.ScanPrefix("a"u8).GetEnumerator();
        Assert.True(e.MoveNext());
        db.Dispose();
        try { e.MoveNext(); Assert.Fail("MoveNext after the database was disposed did not throw"); }
        catch (ObjectDisposedException ex) { Assert.Contains("database was disposed", ex.Message); }
        r.Dispose();
    }

    [Fact]
    public void DeletedTree_ScanThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var w = db.BeginWrite();
        var t = w.OpenTree("t");
        var scan = t.Scan();
        w.DeleteTree("t");
        Assert.Throws<InvalidOperationException>(() => t.Scan());
        try { Collect(scan); Assert.Fail("a scan of a deleted tree did not throw"); }
        catch (InvalidOperationException ex) { Assert.Contains("deleted", ex.Message); }
    }

    [Fact]
    public void DefaultScanAndDefaultTransaction_ThrowInvalidOperation()
    {
        Assert.Throws<InvalidOperationException>(() => default(KvScan).GetEnumerator());
        Assert.Throws<InvalidOperationException>(() => default(KvScan).Reverse());
        Assert.Throws<InvalidOperationException>(() => default(KvScan).AsEnumerable());
        Assert.Throws<InvalidOperationException>(() => default(ReadTransaction).Scan());
    }

    [Fact]
    public void AsEnumerable_CopiesEntries_ForLinq_InBothOrders()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        List<KeyValuePair<byte[], byte[]>> kept;
        using (var r = db.BeginRead())
        {
            var entries = r.ScanPrefix("ab"u8).AsEnumerable();
            kept = entries.ToList();
            Assert.Equal(["ab", "abc", "abd"], kept.Select(p => Bytes.Str(p.Key)));
            Assert.Equal(["ABD", "ABC", "AB"], entries.Reverse().Select(p => Bytes.Str(p.Value)));
            Assert.True(entries.Reverse().IsReversed);
            Assert.Equal(["c", "ba", "b"], r.Scan("b"u8, default).Reverse().AsEnumerable().Select(p => Bytes.Str(p.Key)));
            Assert.Equal(2, r.OpenTree("t").ScanPrefix("x"u8).AsEnumerable().Count());
            Assert.Equal(3, entries.Count()); // enumerable more than once
            using var en = entries.GetEnumerator();
            Assert.True(en.MoveNext());
            Assert.True(en.MoveNext());
            en.Reset();
            Assert.True(en.MoveNext());
            Assert.Equal("ab", Bytes.Str(en.Current.Key));
        }
        // Copies: intact after the transaction and after the pages are rewritten.
        using (var w = db.BeginWrite()) { w.Put("ab"u8, "changed"u8); w.Commit(); }
        Assert.Equal("AB", Bytes.Str(kept[0].Value));
    }

    [Fact]
    public void AsEnumerable_TheBoundsAreCopiedWhenItIsMade()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        var prefix = Bytes.Of("ab");
        var entries = r.ScanPrefix(prefix).AsEnumerable();
        prefix[1] = (byte)'z';
        Assert.Equal(3, entries.Count());
    }

    [Fact]
    public void ManyEntries_OverflowValues_AcrossLeaves_ScanMatchesTheCursor()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite())
        {
            for (int i = 0; i < 5000; i++) w.Put(Bytes.Of($"k{i:D5}"), new byte[i % 50 == 0 ? 5000 : i % 90]);
            w.Commit();
        }
        using var r = db.BeginRead();
        using var c = r.OpenCursor();
        int n = 0;
        bool ok = c.First();
        foreach (var e in r.Scan())
        {
            Assert.True(ok);
            Assert.True(e.Key.SequenceEqual(c.Key));
            Assert.Equal(c.Value.Length, e.Value.Length);
            ok = c.Next();
            n++;
        }
        Assert.False(ok);
        Assert.Equal(5000, n);
        n = 0;
        ok = c.Last();
        foreach (var e in r.ScanPrefix("k"u8).Reverse())
        {
            Assert.True(e.Key.SequenceEqual(c.Key));
            ok = c.Prev();
            n++;
        }
        Assert.Equal(5000, n);
    }
}
