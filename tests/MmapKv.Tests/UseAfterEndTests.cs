using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Transactions, cursors and tree handles used after they ended throw ObjectDisposedException (or InvalidOperationException when not positioned).
/// </summary>
public class UseAfterEndTests
{
    /// <summary>Each member of an ended write transaction, by name.</summary>
    private static readonly Dictionary<string, Action<WriteTransaction>> WriteTransactionMembers = new()
    {
        ["Put"] = tx => tx.Put("a"u8, "b"u8),
        ["Delete"] = tx => tx.Delete("k"u8),
        ["Reserve"] = tx => tx.Reserve("a"u8, 4),
        ["TryGet"] = tx => tx.TryGet("k"u8, out _),
        ["OpenCursor"] = tx => tx.OpenCursor(),
        ["OpenTree"] = tx => tx.OpenTree("t"),
        ["TryOpenTree"] = tx => tx.TryOpenTree("t", out _),
        ["GetTreeNames"] = tx => tx.GetTreeNames(),
        ["DeleteTree"] = tx => tx.DeleteTree("t"),
        ["Commit"] = tx => tx.Commit(),
        ["Commit(Deferred)"] = tx => tx.Commit(Durability.Deferred),
    };

    public static TheoryData<string> WriteTransactionMemberNames => new(WriteTransactionMembers.Keys);

    [Theory]
    [MemberData(nameof(WriteTransactionMemberNames))]
    public void WriteTransaction_AfterCommit_ThrowsObjectDisposed(string member)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        tx.Put("k"u8, "v"u8);
        tx.Commit();
        Assert.Throws<ObjectDisposedException>(() => WriteTransactionMembers[member](tx));
        tx.Dispose(); // still harmless
        using var read = db.BeginRead();
        Assert.True(read.TryGet("k"u8, out _));
    }

    [Theory]
    [MemberData(nameof(WriteTransactionMemberNames))]
    public void WriteTransaction_AfterDispose_ThrowsObjectDisposedAndDiscardsWrites(string member)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        tx.Put("k"u8, "v"u8);
        tx.Dispose();
        tx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => WriteTransactionMembers[member](tx));
        using var read = db.BeginRead();
        Assert.False(read.TryGet("k"u8, out _));
    }

    /// <summary>Each member of a disposed read transaction, by name.</summary>
    private static readonly Dictionary<string, Action<ReadTransaction>> ReadTransactionMembers = new()
    {
        ["TryGet"] = tx => tx.TryGet("k"u8, out _),
        ["OpenCursor"] = tx => tx.OpenCursor(),
        ["OpenTree"] = tx => tx.OpenTree("t"),
        ["TryOpenTree"] = tx => tx.TryOpenTree("t", out _),
        ["GetTreeNames"] = tx => tx.GetTreeNames(),
    };

    public static TheoryData<string> ReadTransactionMemberNames => new(ReadTransactionMembers.Keys);

    [Theory]
    [MemberData(nameof(ReadTransactionMemberNames))]
    public void ReadTransaction_AfterDispose_ThrowsObjectDisposed(string member)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginRead();
        tx.Dispose();
        tx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ReadTransactionMembers[member](tx));
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
