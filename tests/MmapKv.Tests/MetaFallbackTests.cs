using MmapKv.Format;
using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// A damaged meta slot: the open falls back to the other slot's commit, or keeps the newest one when only the older slot is damaged.
/// </summary>
public class MetaFallbackTests
{
    private static void AssertFirstCommitContents(KvDatabase db, int n = 50)
    {
        using var tx = db.BeginRead();
        Assert.Equal(1, tx.TxnId);
        for (int i = 0; i < n; i++)
        {
            Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
            Assert.Equal($"one-{i}", Bytes.Str(v));
        }
        Assert.False(tx.TryGet("second"u8, out _));
    }

    private static void AssertSecondCommitContents(KvDatabase db, int n = 50)
    {
        using var tx = db.BeginRead();
        Assert.Equal(2, tx.TxnId);
        Assert.True(tx.TryGet(Key(0), out var v0));
        Assert.Equal("two-0", Bytes.Str(v0));
        for (int i = 1; i < n; i++)
        {
            Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
            Assert.Equal($"one-{i}", Bytes.Str(v));
        }
        Assert.True(tx.TryGet("second"u8, out var s));
        Assert.Equal("2", Bytes.Str(s));
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(16384)]
    public void Open_NewestMetaSlotDamaged_FallsBackToPreviousCommit(int pageSize)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            int newest = NewestSlot(f, pageSize);
            Assert.Equal(2, MetaTxnId(f, newest, pageSize));
            f[SlotOffset(newest, pageSize) + MetaPage.PageCountOffset] ^= 0x01;
        });
        using (var db = KvDatabase.Open(dir.File()))
        {
            Assert.Equal(pageSize, db.PageSize);
            Assert.Equal(1, db.LastTxnId);
            AssertFirstCommitContents(db);
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());

            // The database is writable from the recovered state, and the next commit replaces the damaged slot.
            using (var tx = db.BeginWrite())
            {
                tx.Put("after"u8, "recovery"u8);
                tx.Commit();
            }
            report = db.Check();
            Assert.True(report.IsValid, report.ToString());
        }
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginRead())
        {
            Assert.Equal(2, tx.TxnId);
            Assert.True(tx.TryGet("after"u8, out var v));
            Assert.Equal("recovery", Bytes.Str(v));
            Assert.False(tx.TryGet("second"u8, out _)); // the damaged commit stays lost
            Assert.True(tx.TryGet(Key(0), out var v0));
            Assert.Equal("one-0", Bytes.Str(v0));
            Assert.True(db.Check().IsValid);
        }
    }

    [Fact]
    public void Open_Slot0Damaged_OpensFromSlot1()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            Assert.Equal(2, MetaTxnId(f, 0, 4096));
            Array.Fill(f, (byte)0xA5, 0, MetaPage.Size); // slot 0 overwritten with garbage
        });
        using var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        Assert.Equal(1, db.LastTxnId);
        AssertFirstCommitContents(db);
    }

    [Fact]
    public void Open_OlderMetaSlotDamaged_OpensNewestCommit()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            int older = 1 - NewestSlot(f, 4096);
            f[SlotOffset(older, 4096) + MetaPage.TxnIdOffset] ^= 0x40;
        });
        using var db = KvDatabase.Open(dir.File());
        Assert.Equal(2, db.LastTxnId);
        AssertSecondCommitContents(db);
        Assert.True(db.Check().IsValid);
    }
}
