using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Tree handles and tree names after DeleteTree in the same write transaction.
/// </summary>
public class DeletedTreeTests
{
    [Fact]
    public void TreeHandle_AfterDeleteTreeInSameTransaction_ThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("t");
            for (int i = 0; i < 200; i++) t.Put(Key(i), Value(i, 100));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var tree = tx.OpenTree("t");
            var cursor = tree.OpenCursor();
            Assert.True(cursor.First());
            Assert.True(tx.DeleteTree("t"));
            Assert.Throws<InvalidOperationException>(() => tree.Put("k"u8, "v"u8));
            Assert.Throws<InvalidOperationException>(() => tree.Delete(Key(0)));
            Assert.Throws<InvalidOperationException>(() => tree.TryGet(Key(0), out _));
            Assert.Throws<InvalidOperationException>(() => tree.OpenCursor());
            Assert.Throws<InvalidOperationException>(() => _ = tree.Count);
            Assert.Throws<InvalidOperationException>(() => cursor.Next());
            Assert.False(tx.TryOpenTree("t", out _));
            Assert.False(tx.DeleteTree("t"));
            // The transaction itself is fine.
            tx.Put("main"u8, "1"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.False(tx.TryOpenTree("t", out _));
            Assert.Throws<KeyNotFoundException>(() => tx.OpenTree("t"));
            Assert.True(tx.TryGet("main"u8, out _));
        }
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    [Fact]
    public void DeleteTree_ThenOpenSameName_GivesANewEmptyTreeAndTheOldHandleStaysDead()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("t").Put("old"u8, "1"u8);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var old = tx.OpenTree("t");
            Assert.True(tx.DeleteTree("t"));
            var fresh = tx.OpenTree("t");
            Assert.Equal(0, fresh.Count);
            fresh.Put("new"u8, "2"u8);
            Assert.Throws<InvalidOperationException>(() => old.TryGet("old"u8, out _));
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            var t = tx.OpenTree("t");
            Assert.Equal(1, t.Count);
            Assert.False(t.TryGet("old"u8, out _));
            Assert.True(t.TryGet("new"u8, out _));
        }
        Assert.True(db.Check().IsValid);
    }

    /// <summary>Regression: GetTreeNames() in a write transaction read only the committed catalog, missing trees
    /// created in the transaction and listing trees deleted in it. A write transaction sees its own writes, so its
    /// list includes trees it created and omits trees it deleted, consistently with
    /// <see cref="KvTransaction.TryOpenTree"/>.</summary>
    [Fact]
    public void WriteTransaction_GetTreeNames_ReflectsTreesCreatedAndDeletedInIt()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("b").Put("k"u8, "v"u8);
            tx.OpenTree("d").Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            Assert.Equal(new[] { "b", "d" }, tx.GetTreeNames());
            Assert.True(tx.DeleteTree("b"));
            tx.OpenTree("a");
            tx.OpenTree("c").Put("k"u8, "v"u8);
            Assert.False(tx.TryOpenTree("b", out _));
            Assert.True(tx.TryOpenTree("a", out _));
            Assert.Equal(new[] { "a", "c", "d" }, tx.GetTreeNames());
            tx.Commit();
        }
        using (var tx = db.BeginRead())
            Assert.Equal(new[] { "a", "c", "d" }, tx.GetTreeNames());
    }
}
