using MmapKv.Format;
using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Damaged tree and free-map pages: reads throw CorruptDatabaseException, Check reports the damage, and a refused open releases the lock.
/// </summary>
public class DamagedPageTests
{
    [Fact]
    public void Read_DamagedLeafPage_ThrowsCorruptDatabaseAndCheckReportsIt()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("a"u8, "1"u8);
            tx.Commit();
        }
        Patch(dir.File(), f =>
        {
            int newest = NewestSlot(f, 4096);
            long root = MetaField(f, newest, 4096, MetaPage.MainTreeOffset + TreeDescriptor.RootOffset);
            Assert.True(root >= 2);
            f[root * 4096 + PageHeader.KindOffset] = (byte)PageKind.Overflow;
        });
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginRead())
            {
                Assert.Throws<CorruptDatabaseException>(() => tx.TryGet("a"u8, out _));
                using var c = tx.OpenCursor();
                Assert.Throws<CorruptDatabaseException>(() => c.First());
            }
            var report = db.Check();
            Assert.False(report.IsValid);
            Assert.True(report.ProblemCount > 0);
        }
    }

    [Fact]
    public void Open_DamagedFreeMapDirectory_ThrowsCorruptDatabaseAndReleasesTheLock()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            int newest = NewestSlot(f, 4096);
            long freeList = MetaField(f, newest, 4096, MetaPage.FreeMapPageOffset);
            Assert.True(freeList >= 2, "test setup: the second commit must have written a free list");
            f[freeList * 4096 + PageHeader.KindOffset] = (byte)PageKind.Leaf;
        });
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
        // The failed open released its lock: another open of the file succeeds (read-only does not read the list).
        using var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        Assert.False(db.Check().IsValid);
    }
}
