using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// A read state remembers the named trees it resolved in the catalog of one snapshot, so that the next read
/// transaction on the same snapshot neither searches the catalog nor allocates (the cache's Get reads through
/// <c>ReadTransaction.TryGetInTree</c>). What it remembers must never outlive its snapshot: a commit that changes,
/// creates or deletes a tree is seen by the next transaction, and a handle of an ended transaction still throws
/// (invariant L5).
/// </summary>
public class NamedTreeReadTests
{
    private static readonly byte[] Key = "key"u8.ToArray();

    /// <summary>One user slot, so every read transaction gets the same state object and its remembered trees.</summary>
    private static KvDatabase OneSlot(TempDir dir, KvOptions? options = null) =>
        KvDatabase.Open(dir.File(), (options ?? new KvOptions()) with { MaxReaders = 1 });

    private static void Write(KvDatabase db, Action<WriteTransaction> change)
    {
        using var w = db.BeginWrite();
        change(w);
        w.Commit();
    }

    private static string Read(KvDatabase db, string tree)
    {
        using var tx = db.BeginRead();
        return tx.TryGetInTree(tree, Key, out var v) ? Bytes.Str(v) : "<missing>";
    }

    private static string ReadThroughHandle(KvDatabase db, string tree)
    {
        using var tx = db.BeginRead();
        return tx.TryOpenTree(tree, out var t) ? (t.TryGet(Key, out var v) ? Bytes.Str(v) : "<no key>") : "<no tree>";
    }

    [Fact]
    public void ResolvedTrees_AreForgotten_WhenACommitChangesCreatesOrDeletesTheTree()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        Assert.Equal("<missing>", Read(db, "t"));         // resolved as absent
        Assert.Equal("<no tree>", ReadThroughHandle(db, "t"));
        Write(db, w => w.OpenTree("t").Put(Key, "v1"u8));
        Assert.Equal("v1", Read(db, "t"));                // created: seen at once
        Assert.Equal("v1", Read(db, "t"));                // and again from the remembered descriptor
        Write(db, w => w.OpenTree("t").Put(Key, "v2"u8));
        Assert.Equal("v2", Read(db, "t"));                // changed: the new root is used
        Assert.Equal("v2", ReadThroughHandle(db, "t"));
        Write(db, w => w.Put(Key, "main"u8));             // a commit that leaves the catalog alone
        Assert.Equal("v2", Read(db, "t"));
        Write(db, w => w.DeleteTree("t"));
        Assert.Equal("<missing>", Read(db, "t"));         // deleted: gone
        Assert.Equal("<no tree>", ReadThroughHandle(db, "t"));
        Write(db, w => w.OpenTree("t"));
        Assert.Equal("<missing>", Read(db, "t"));         // created again, empty
        Assert.Equal("<no key>", ReadThroughHandle(db, "t"));
    }

    [Fact]
    public void MoreTreesThanAStateRemembers_AreAllReadCorrectly()
    {
        // A state remembers a few names per snapshot and replaces the oldest beyond that; a replaced name is found
        // in the catalog again, and the answer for every name stays right.
        const int trees = 20;
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        Write(db, w =>
        {
            for (int i = 0; i < trees; i += 2) w.OpenTree($"tree-{i}").Put(Key, Bytes.Of($"value-{i}"));
        });
        for (int round = 0; round < 3; round++)
        {
            using var tx = db.BeginRead();
            for (int i = 0; i < trees; i++)
            {
                bool found = tx.TryGetInTree($"tree-{(i * 7 + round) % trees}", Key, out var v);
                int n = (i * 7 + round) % trees;
                Assert.Equal(n % 2 == 0, found);
                if (found) Assert.Equal($"value-{n}", Bytes.Str(v));
            }
        }
    }

    [Fact]
    public void TryGetInTree_OfAnEndedTransaction_ThrowsObjectDisposed_AfterItsStateWasReused()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        Write(db, w => w.OpenTree("t").Put(Key, "old"u8));
        var stale = db.BeginRead();
        Assert.True(stale.TryGetInTree("t", Key, out _));
        stale.Dispose();
        Write(db, w => w.OpenTree("t").Put(Key, "new"u8));
        using var current = db.BeginRead();
        Assert.Same(stale.RawState, current.RawState);
        Assert.Throws<ObjectDisposedException>(() => stale.TryGetInTree("t", Key, out _));
        Assert.True(current.TryGetInTree("t", Key, out var v)); // the stale call changed nothing
        Assert.Equal("new", Bytes.Str(v));
        Assert.Throws<InvalidOperationException>(() => default(ReadTransaction).TryGetInTree("t", Key, out _));
    }

    [Fact]
    public void TryGetInTree_WithABadNameOrKey_ThrowsArgumentException_EveryTime()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        using var tx = db.BeginRead();
        for (int i = 0; i < 2; i++) // a bad name is never remembered, so the second call checks it again
        {
            Assert.Throws<ArgumentException>(() => tx.TryGetInTree("", Key, out _));
            Assert.Throws<ArgumentException>(() => tx.TryGetInTree("bad\ud800", Key, out _));
        }
        Assert.Throws<ArgumentException>(() => tx.TryGetInTree("t", ReadOnlySpan<byte>.Empty, out _));
    }

    [Fact]
    public void BeginTryGetInTreeDispose_AllocatesNothing_HitOrMiss_WithAndWithoutChecksumVerification()
    {
        // Before the state remembered its trees, every such read encoded the name (a byte array), searched the
        // catalog and made a tree handle and its state: about 100 B per read.
        foreach (bool verify in new[] { false, true })
        {
            using var dir = new TempDir();
            using var db = KvDatabase.Open(dir.File(), new KvOptions { VerifyChecksums = verify });
            Write(db, w =>
            {
                for (int i = 0; i < 2000; i++) w.OpenTree("entries").Put(Bytes.Of($"k{i:D5}"), new byte[100]);
            });
            var hit = Bytes.Of("k01234");
            var miss = Bytes.Of("nope");
            long sum = 0;
            void Work()
            {
                for (int i = 0; i < 1000; i++)
                {
                    using var tx = db.BeginRead();
                    if (tx.TryGetInTree("entries", hit, out var v)) sum += v.Length;
                    if (tx.TryGetInTree("entries", miss, out _)) sum = -1;
                    if (tx.TryGetInTree("absent", hit, out _)) sum = -1;
                }
            }
            Work(); // warm up: JIT, the slot's state object and its remembered trees
            Work();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Work();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(3 * 1000 * 100, sum);
            Assert.True(allocated == 0, $"VerifyChecksums = {verify}: {allocated} bytes for 1,000 read transactions");
        }
    }
}
