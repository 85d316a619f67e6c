using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Put with a <see cref="PutMode"/>, and TryAdd: what each mode writes and returns, on the default tree and a named
/// tree, for inline and overflow values, through the append fast path and after splits, and that a refused put
/// changes nothing (not even the file: a transaction of refused puts commits no new pages).
/// </summary>
public class PutModeTests
{
    [Fact]
    public void Modes_WriteOnlyWhatTheySay_OnTheDefaultTree()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            Assert.False(tx.Put("k"u8, "u"u8, PutMode.UpdateOnly));   // absent: refused
            Assert.False(tx.TryGet("k"u8, out _));
            Assert.True(tx.Put("k"u8, "1"u8, PutMode.InsertOnly));    // absent: inserted
            Assert.False(tx.Put("k"u8, "2"u8, PutMode.InsertOnly));   // present: refused, value kept
            Assert.False(tx.TryAdd("k"u8, "3"u8));
            Assert.Equal("1", Get(tx, "k"));
            Assert.True(tx.Put("k"u8, "4"u8, PutMode.UpdateOnly));    // present: overwritten
            Assert.Equal("4", Get(tx, "k"));
            Assert.True(tx.Put("k"u8, "5"u8, PutMode.Upsert));
            Assert.True(tx.Put("j"u8, "6"u8, PutMode.Upsert));
            Assert.True(tx.TryAdd("i"u8, "7"u8));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            // Committed keys: refused and accepted alike across a transaction boundary.
            Assert.False(tx.TryAdd("k"u8, "x"u8));
            Assert.False(tx.Put("absent"u8, "x"u8, PutMode.UpdateOnly));
            Assert.True(tx.Put("j"u8, "8"u8, PutMode.UpdateOnly));
            tx.Commit();
        }
        using var r = db.BeginRead();
        Assert.Equal("5", Get(r, "k"));
        Assert.Equal("8", Get(r, "j"));
        Assert.Equal("7", Get(r, "i"));
        Assert.False(r.TryGet("absent"u8, out _));
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void Modes_OnANamedTree_TouchOnlyThatTree()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "main"u8);
            var t = tx.OpenTree("t");
            Assert.False(t.Put("k"u8, "x"u8, PutMode.UpdateOnly)); // the default tree's key is not this tree's
            Assert.True(t.TryAdd("k"u8, "named"u8));
            Assert.False(t.TryAdd("k"u8, "again"u8));
            Assert.True(t.Put("k"u8, "named2"u8, PutMode.UpdateOnly));
            Assert.False(tx.TryAdd("k"u8, "x"u8));
            Assert.Equal(1, t.Count);
            tx.Commit();
        }
        using var r = db.BeginRead();
        Assert.Equal("main", Get(r, "k"));
        Assert.True(r.OpenTree("t").TryGet("k"u8, out var v));
        Assert.Equal("named2", Bytes.Str(v));
    }

    [Fact]
    public void NamedTreeOfAReadTransaction_RefusesPutModesAndTryAdd()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite()) { tx.OpenTree("t"); tx.Commit(); }
        using var r = db.BeginRead();
        var t = r.OpenTree("t");
        Assert.Throws<InvalidOperationException>(() => t.TryAdd("k"u8, "v"u8));
        Assert.Throws<InvalidOperationException>(() => t.Put("k"u8, "v"u8, PutMode.Upsert));
    }

    [Fact]
    public void BadModeAndBadKey_AreArgumentErrors_AndLeaveTheTransactionUsable()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tx.Put("k"u8, "v"u8, (PutMode)3));
        Assert.Equal("mode", e.ParamName);
        Assert.Throws<ArgumentException>(() => tx.TryAdd(ReadOnlySpan<byte>.Empty, "v"u8));
        Assert.Throws<ArgumentException>(() => tx.Put(new byte[db.MaxKeySize + 1], "v"u8, PutMode.InsertOnly));
        Assert.True(tx.TryAdd("k"u8, "v"u8));
        tx.Commit();
    }

    [Fact]
    public void EndedTransaction_PutModesThrowObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        var t = tx.OpenTree("t");
        tx.Commit();
        Assert.Throws<ObjectDisposedException>(() => tx.TryAdd("k"u8, "v"u8));
        Assert.Throws<ObjectDisposedException>(() => tx.Put("k"u8, "v"u8, PutMode.UpdateOnly));
        Assert.Throws<ObjectDisposedException>(() => t.TryAdd("k"u8, "v"u8));
    }

    /// <summary>
    /// Many keys, so puts go through the append fast path (ascending), through splits and deep descents (random
    /// order), with inline and overflow values: each mode's answer matches a model, and the tree checks clean.
    /// </summary>
    [Fact]
    public void ManyKeys_ModesMatchAModel_AcrossSplitsOverflowAndTheAppendPath()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var model = new Dictionary<string, byte[]>();
        var rng = new Random(4711);
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("t");
            for (int i = 0; i < 3000; i++)
            {
                // Ascending first (the append path), then random keys among those and new ones.
                string k = i < 1500 ? $"k{i:D5}" : $"k{rng.Next(3000):D5}";
                var v = new byte[rng.Next(8) == 0 ? 3000 : rng.Next(60)];
                rng.NextBytes(v);
                var mode = (PutMode)rng.Next(3);
                bool exists = model.ContainsKey(k);
                bool expected = mode switch { PutMode.InsertOnly => !exists, PutMode.UpdateOnly => exists, _ => true };
                Assert.Equal(expected, t.Put(Bytes.Of(k), v, mode));
                if (expected) model[k] = v;
            }
            Assert.Equal(model.Count, t.Count);
            tx.Commit();
        }
        using var r = db.BeginRead();
        var tree = r.OpenTree("t");
        foreach (var (k, v) in model)
        {
            Assert.True(tree.TryGet(Bytes.Of(k), out var got));
            Assert.True(got.SequenceEqual(v), k);
        }
        Assert.True(db.Check().IsValid);
    }

    /// <summary>A transaction of nothing but refused puts changes nothing: the commit writes no page, so the
    /// database's page count and free counts stay as they were.</summary>
    [Fact]
    public void RefusedPuts_ChangeNothing()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 2000; i++) tx.Put(Bytes.Of($"k{i:D5}"), new byte[50]);
            tx.OpenTree("t").Put("a"u8, "b"u8);
            tx.Commit();
        }
        var before = db.GetStats();
        long txn;
        using (var r = db.BeginRead()) txn = r.TxnId;
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 2000; i += 7) Assert.False(tx.TryAdd(Bytes.Of($"k{i:D5}"), new byte[5000]));
            Assert.False(tx.Put("zzz"u8, "x"u8, PutMode.UpdateOnly)); // past the last key
            Assert.False(tx.Put("0"u8, "x"u8, PutMode.UpdateOnly));   // before the first
            Assert.False(tx.OpenTree("t").TryAdd("a"u8, "c"u8));
            tx.Commit();
        }
        using (var r = db.BeginRead())
        {
            Assert.Equal(txn, r.TxnId); // nothing changed: no new commit
            Assert.True(r.TryGet("k00007"u8, out var v));
            Assert.Equal(50, v.Length);
        }
        var after = db.GetStats();
        Assert.Equal(before.PageCount, after.PageCount);
        Assert.True(db.Check().IsValid);
    }

    /// <summary>A value read from the map in the same transaction (the span points into the page being replaced)
    /// is copied before the page changes, as with a plain put.</summary>
    [Theory]
    [InlineData(40)]
    [InlineData(6000)]
    public void UpdateOnly_WithAValueReadFromTheSameEntry_KeepsItsBytes(int length)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var value = new byte[length];
        new Random(1).NextBytes(value);
        using (var tx = db.BeginWrite()) { tx.Put("a"u8, value); tx.Put("b"u8, "x"u8); tx.Commit(); }
        using (var tx = db.BeginWrite())
        {
            Assert.True(tx.TryGet("a"u8, out var v));
            Assert.True(tx.Put("b"u8, v, PutMode.UpdateOnly));
            tx.Commit();
        }
        using var r = db.BeginRead();
        Assert.True(r.TryGet("b"u8, out var b));
        Assert.True(b.SequenceEqual(value));
        Assert.True(db.Check().IsValid);
    }

    private static string Get(WriteTransaction tx, string key) =>
        tx.TryGet(Bytes.Of(key), out var v) ? Bytes.Str(v) : throw new KeyNotFoundException(key);

    private static string Get(ReadTransaction tx, string key) =>
        tx.TryGet(Bytes.Of(key), out var v) ? Bytes.Str(v) : throw new KeyNotFoundException(key);
}
