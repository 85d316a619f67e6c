using System.Diagnostics;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>Files changed behind the engine's back: structural damage with valid checksums, and truncation by another process.</summary>
public unsafe class TamperingTests
{
    /// <summary>
    /// Regression: a write that shadows a committed page read every entry of it (compaction, split, merge) after
    /// checking only the header, so a slot offset pointing past the page, with a valid checksum, made the writer
    /// read outside the page. Every page is now checked whole before it is copied for writing.
    /// </summary>
    [Fact]
    public void Put_IntoLeafWithForgedSlot_ThrowsCorruptDatabase()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using (var db = KvDatabase.Open(path))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 30; i++) tx.Put(Bytes.Of($"key{i:D3}"), new byte[40]);
            tx.Commit();
        }
        // The only leaf is the root: find it from the newest meta, forge its last slot's entry offset, and
        // recompute the page checksum so only the structural check can notice.
        var bytes = File.ReadAllBytes(path);
        fixed (byte* b = bytes)
        {
            var meta = MetaPage.TryRead(b + 4096, bytes.Length, out _, out _) ?? MetaPage.TryRead(b, bytes.Length, out _, out _)!.Value;
            byte* leaf = b + meta.Main.Root * 4096;
            int count = PageHeader.Count(leaf);
            byte* slot = leaf + PageHeader.Size + (count - 1) * NodeLayout.SlotSize;
            *(ushort*)(slot + NodeLayout.SlotEntryOffset) = 4090; // key and value would run past the page
            PageHeader.SetChecksum(leaf, Checksum.OfPage(leaf, 4096));
        }
        // The leaf belongs to the newest commit, whose list names it: forge that too, as a tamperer would.
        TestData.ResealCommitList(bytes, TestData.NewestSlot(bytes, 4096), 4096);
        File.WriteAllBytes(path, bytes);
        using (var db = KvDatabase.Open(path))
        {
            using (var tx = db.BeginWrite())
                Assert.Throws<CorruptDatabaseException>(() => tx.Put("key000x"u8, "v"u8));
            Assert.False(db.Check().IsValid);
            using var r = db.BeginRead();
            Assert.True(r.TryGet("key000"u8, out _)); // undamaged slots stay readable
        }
    }

    /// <summary>Another process that ignores the lock truncates the file: the next write transaction refuses to start.</summary>
    [Fact]
    public void BeginWrite_AfterTruncationByAnotherProcess_ThrowsCorruptDatabase()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path);
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 2000; i++) tx.Put(Bytes.Of($"key{i:D5}"), new byte[100]);
            tx.Commit();
        }
        using (var p = Process.Start(new ProcessStartInfo("truncate", new[] { "-s", "8192", path }) { UseShellExecute = false })!)
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        var e = Assert.Throws<CorruptDatabaseException>(() => db.BeginWrite());
        Assert.Contains("truncated", e.Message);
    }
}
