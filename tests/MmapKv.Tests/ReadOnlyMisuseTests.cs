using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Writes through a read-only database or a read transaction, and missing trees in a read transaction.
/// </summary>
public class ReadOnlyMisuseTests
{
    [Fact]
    public async Task BeginWrite_OnReadOnlyDatabase_ThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true }))
        {
            Assert.Throws<InvalidOperationException>(() => db.BeginWrite());
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await db.BeginWriteAsync());
            db.Flush(); // nothing to flush; not an error
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("k"u8, out var v));
                Assert.Equal("v", Bytes.Str(v));
            }
            Assert.True(db.Check().IsValid);
        }
    }

    [Fact]
    public void TreeHandle_FromReadTransaction_PutAndDeleteThrowInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("t").Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            var tree = tx.OpenTree("t");
            Assert.Throws<InvalidOperationException>(() => tree.Put("k"u8, "w"u8));
            Assert.Throws<InvalidOperationException>(() => tree.Delete("k"u8));
            Assert.True(tree.TryGet("k"u8, out var v));
            Assert.Equal("v", Bytes.Str(v));
        }
    }

    [Fact]
    public void ReadTransaction_OpenTreeOfMissingTree_ThrowsKeyNotFound()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("exists").Put("k"u8, "v"u8);
            tx.Commit();
        }
        using var rtx = db.BeginRead();
        Assert.Throws<KeyNotFoundException>(() => rtx.OpenTree("missing"));
        Assert.False(rtx.TryOpenTree("missing", out var none));
        Assert.Null(none);
        Assert.True(rtx.TryOpenTree("exists", out var tree));
        Assert.Equal("exists", tree.Name);
        Assert.Equal(new[] { "exists" }, rtx.GetTreeNames());
    }
}
