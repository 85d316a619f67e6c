using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Transactions, cursors and tree handles used after they ended throw ObjectDisposedException (or InvalidOperationException when not positioned).
/// </summary>
public class UseAfterEndTests
{
    [Fact]
    public void WriteTransaction_AfterCommit_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        tx.Put("k"u8, "v"u8);
        tx.Commit();
        AssertWriteTransactionEnded(tx);
        tx.Dispose(); // still harmless
        using var read = db.BeginRead();
        Assert.True(read.TryGet("k"u8, out _));
    }

    [Fact]
    public void WriteTransaction_AfterDispose_ThrowsObjectDisposedAndDiscardsWrites()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        tx.Put("k"u8, "v"u8);
        tx.Dispose();
        tx.Dispose();
        AssertWriteTransactionEnded(tx);
        using var read = db.BeginRead();
        Assert.False(read.TryGet("k"u8, out _));
    }

    private static void AssertWriteTransactionEnded(WriteTransaction tx)
    {
        Assert.Throws<ObjectDisposedException>(() => tx.Put("a"u8, "b"u8));
        Assert.Throws<ObjectDisposedException>(() => tx.Delete("k"u8));
        Assert.Throws<ObjectDisposedException>(() => tx.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => tx.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => tx.OpenTree("t"));
        Assert.Throws<ObjectDisposedException>(() => tx.TryOpenTree("t", out _));
        Assert.Throws<ObjectDisposedException>(() => tx.GetTreeNames());
        Assert.Throws<ObjectDisposedException>(() => tx.DeleteTree("t"));
        Assert.Throws<ObjectDisposedException>(() => tx.Commit());
        Assert.Throws<ObjectDisposedException>(() => tx.Commit(Durability.Deferred));
    }

    [Fact]
    public void ReadTransaction_AfterDispose_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginRead();
        tx.Dispose();
        tx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tx.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => tx.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => tx.OpenTree("t"));
        Assert.Throws<ObjectDisposedException>(() => tx.TryOpenTree("t", out _));
        Assert.Throws<ObjectDisposedException>(() => tx.GetTreeNames());
    }

    [Fact]
    public void Cursor_AfterItsTransactionEnded_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.Put("a"u8, "1"u8);
            tx.Put("b"u8, "2"u8);
            var wc = tx.OpenCursor();
            Assert.True(wc.First());
            tx.Commit();
            Assert.Throws<ObjectDisposedException>(() => wc.Next());
            Assert.Throws<ObjectDisposedException>(() => { _ = wc.Key; });
        }
        var rtx = db.BeginRead();
        var c = rtx.OpenCursor();
        Assert.True(c.First());
        Assert.Equal("a", Bytes.Str(c.Key));
        rtx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => c.Next());
        Assert.Throws<ObjectDisposedException>(() => c.Prev());
        Assert.Throws<ObjectDisposedException>(() => c.First());
        Assert.Throws<ObjectDisposedException>(() => c.Last());
        Assert.Throws<ObjectDisposedException>(() => c.Seek("a"u8));
        Assert.Throws<ObjectDisposedException>(() => { _ = c.Key; });
        Assert.Throws<ObjectDisposedException>(() => { _ = c.Value; });
    }

    [Fact]
    public void Cursor_AfterDispose_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite()) { w.Put("a"u8, "1"u8); w.Commit(); }
        using var tx = db.BeginRead();
        var c = tx.OpenCursor();
        Assert.True(c.First());
        c.Dispose();
        Assert.False(c.IsPositioned);
        Assert.Throws<ObjectDisposedException>(() => c.First());
        Assert.Throws<ObjectDisposedException>(() => c.Next());
        Assert.Throws<ObjectDisposedException>(() => { _ = c.Key; });
        Assert.True(tx.TryGet("a"u8, out _)); // the transaction is unaffected
    }

    [Fact]
    public void Cursor_NotPositioned_KeyThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite()) { w.Put("a"u8, "1"u8); w.Commit(); }
        using var tx = db.BeginRead();
        using var c = tx.OpenCursor();
        Assert.Throws<InvalidOperationException>(() => { _ = c.Key; });
        Assert.True(c.First());
        Assert.False(c.Next());
        Assert.False(c.IsPositioned);
        Assert.Throws<InvalidOperationException>(() => { _ = c.Value; });
        Assert.False(c.Seek("b"u8));
        Assert.Throws<InvalidOperationException>(() => { _ = c.Key; });
    }

    [Fact]
    public void TreeHandle_AfterItsTransactionEnded_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        KvTree writeTree;
        using (var tx = db.BeginWrite())
        {
            writeTree = tx.OpenTree("t");
            writeTree.Put("k"u8, "v"u8);
            tx.Commit();
        }
        Assert.Throws<ObjectDisposedException>(() => writeTree.Put("x"u8, "y"u8));
        Assert.Throws<ObjectDisposedException>(() => writeTree.Delete("k"u8));
        Assert.Throws<ObjectDisposedException>(() => writeTree.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => writeTree.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => _ = writeTree.Count);
        Assert.Equal("t", writeTree.Name);

        KvTree readTree;
        using (var tx = db.BeginRead())
        {
            readTree = tx.OpenTree("t");
            Assert.Equal(1, readTree.Count);
        }
        Assert.Throws<ObjectDisposedException>(() => readTree.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => readTree.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => _ = readTree.Count);
    }
}
