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
        // A second commit that leaves the default tree alone: its leaf is then an older, durable page, which the
        // newest commit list does not name, so the open cannot see the damage below (only a read can).
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("other").Put("b"u8, "2"u8);
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

    /// <summary>
    /// D1 and D4: a page of the newest commit that is not on disk as sealed (here one byte of its free-map directory)
    /// makes the open refuse that commit and open the previous one, and the refused slot is overwritten with a copy
    /// of the chosen record, so it can never win later.
    /// </summary>
    [Fact]
    public void Open_DamagedPageOfTheNewestCommit_FallsBackToThePreviousCommit()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        int newest = -1;
        long olderTxn = -1;
        Patch(dir.File(), f =>
        {
            newest = NewestSlot(f, 4096);
            olderTxn = MetaTxnId(f, 1 - newest, 4096);
            long directory = MetaField(f, newest, 4096, MetaPage.FreeMapPageOffset);
            f[directory * 4096 + 100] ^= 0x01;
        });
        using (var db = KvDatabase.Open(dir.File()))
        {
            Assert.Equal(olderTxn, db.LastTxnId);
            Assert.True(db.Check().IsValid);
            using var tx = db.BeginRead();
            Assert.False(tx.TryGet("second"u8, out _)); // the refused commit's key
        }
        var after = File.ReadAllBytes(dir.File());
        Assert.Equal(olderTxn, MetaTxnId(after, newest, 4096));
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
            // Every commit writes a new directory, so the newest commit list names it: forge the list, so that the
            // damage reaches the free-map load instead of making the open fall back to the older slot (which
            // Open_DamagedPageOfTheNewestCommit_FallsBackToThePreviousCommit covers).
            ResealCommitList(f, newest, 4096);
        });
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
        // The failed open released its lock: another open of the file succeeds (read-only does not read the list).
        using var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        Assert.False(db.Check().IsValid);
    }
}
