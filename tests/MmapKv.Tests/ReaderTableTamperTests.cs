using System.Text;
using MmapKv.Format;
using MmapKv.Storage;
using MmapKv.Transactions;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Invariant L8 (docs/durability.md §14.6): another opener that writes into the reader slots of the lock file, or
/// takes snapshot locks of its own, can make a writer hold space, never reuse a page that a reader may reach. Two
/// openers in one process are two lock-file holders, exactly as two processes (MultiProcessTests repeats the first
/// case with real processes); these also run under Wine on the Windows backend.
/// </summary>
public class ReaderTableTamperTests(ITestOutputHelper output)
{
    private static readonly KvOptions NoTimer = new() { DeferredFlushInterval = TimeSpan.Zero, MaxSize = 1L << 30 };
    private const int Keys = 2000;

    private static byte[] K(int i) => Encoding.UTF8.GetBytes($"key{i:D6}");

    private static void Rewrite(KvDatabase db, int round)
    {
        using var tx = db.BeginWrite();
        for (int i = 0; i < Keys; i++) tx.Put(K(i), Encoding.UTF8.GetBytes($"v{round}-{i}-{new string('x', 20 + round % 7)}"));
        tx.Commit();
    }

    private static void AssertSnapshotIntact(ReadTransaction reader, int round)
    {
        for (int i = 0; i < Keys; i++)
        {
            Assert.True(reader.TryGet(K(i), out var v), $"key {i} is gone from the reader's snapshot");
            Assert.Equal($"v{round}-{i}-{new string('x', 20 + round % 7)}", Encoding.UTF8.GetString(v));
        }
    }

    private static void AssertValid(KvDatabase db)
    {
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    /// <summary>Writes <paramref name="fill"/> over every reader slot and the slots' high-water mark, as another program could.</summary>
    internal static void OverwriteReaderSlots(string databasePath, Func<int, byte> fill)
    {
        using var lockFile = new FileStream(LockFile.PathFor(databasePath), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var slots = new byte[lockFile.Length - LockFileLayout.HeaderSize];
        for (int i = 0; i < slots.Length; i++) slots[i] = fill(i);
        lockFile.Position = LockFileLayout.HeaderSize;
        lockFile.Write(slots);
        lockFile.Position = LockFileLayout.HighWaterOffset;
        lockFile.Write(new byte[8]);
        lockFile.Flush();
    }

    [Theory]
    [InlineData(false)] // the other opener writes: every round a takeover, then R1
    [InlineData(true)]  // the reader's own opener writes too: its own pins protect it
    public void ZeroedReaderSlots_DoNotLetAWriterReuseAReadersPages(bool alternate)
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var a = KvDatabase.Open(path, NoTimer);
        using var b = KvDatabase.Open(path, NoTimer);
        Rewrite(a, 0);
        using (var reader = a.BeginRead())
        {
            OverwriteReaderSlots(path, _ => 0);
            Assert.DoesNotContain(b.GetStats().Readers, r => r.SnapshotTxnId == reader.TxnId); // the table no longer shows it
            for (int round = 1; round <= 12; round++)
            {
                Rewrite(alternate && round % 2 == 0 ? a : b, round);
                if (round % 4 == 0) OverwriteReaderSlots(path, _ => 0);
            }
            AssertSnapshotIntact(reader, 0);
        }
        AssertValid(b);
    }

    [Fact]
    public void GarbageInTheReaderSlots_OnlyHoldsSpace()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var a = KvDatabase.Open(path, NoTimer);
        using var b = KvDatabase.Open(path, NoTimer);
        Rewrite(a, 0);
        var rng = new Random(5);
        using (var reader = a.BeginRead())
        {
            for (int round = 1; round <= 8; round++)
            {
                OverwriteReaderSlots(path, _ => (byte)rng.Next(256));
                Rewrite(round % 2 == 0 ? a : b, round);
            }
            AssertSnapshotIntact(reader, 0);
        }
        OverwriteReaderSlots(path, _ => 0);
        Rewrite(b, 9);
        using (var r = a.BeginRead()) AssertSnapshotIntact(r, 9);
        AssertValid(a);
    }

    /// <summary>
    /// A third holder of the lock file takes a snapshot lock on every page id (directories, stale directories in
    /// free space, leaves), or, in a file of more pages than a writer looks at, on more bytes than that: writers go
    /// on, hold space while the locks last, and reuse it again once they are gone.
    /// </summary>
    [Theory]
    [InlineData(false)] // every locked page is looked at
    [InlineData(true)]  // past SnapshotLocks.SearchLimit: the writer assumes every snapshot is read
    public void ForgedSnapshotLocks_OnlyHoldSpace(bool pastTheSearchLimit)
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var a = KvDatabase.Open(path, NoTimer);
        using var b = KvDatabase.Open(path, NoTimer);
        if (pastTheSearchLimit)
        {
            using var tx = a.BeginWrite();
            tx.Put("ballast"u8, new byte[(SnapshotLocks.SearchLimit + 100) * a.PageSize]);
            tx.Commit();
        }
        for (int round = 0; round < 4; round++) Rewrite(round % 2 == 0 ? a : b, round); // stale directories in free space
        long before, pages = new FileInfo(path).Length / a.PageSize;
        using (var forger = LockFile.Open(LockFile.PathFor(path), path, 0x1B6, readOnlyDatabase: false))
        {
            for (long id = 0; id < pages + 64; id++) Assert.True(forger.TryLock(LockFileLayout.SnapshotLockBase + id, exclusive: false));
            for (int round = 4; round < 10; round++) Rewrite(round % 2 == 0 ? a : b, round);
            using (var r = b.BeginRead()) AssertSnapshotIntact(r, 9);
            before = new FileInfo(path).Length;
        }
        for (int round = 10; round < 14; round++) Rewrite(round % 2 == 0 ? a : b, round); // what the locks held returns
        long settled = new FileInfo(path).Length;
        for (int round = 14; round < 24; round++) Rewrite(round % 2 == 0 ? a : b, round);
        output.WriteLine($"{pages + 64} pages locked; file: {before} B with the forged locks, {settled} B after, {new FileInfo(path).Length} B ten rounds later");
        Assert.Equal(settled, new FileInfo(path).Length);
        AssertValid(a);
    }

    /// <summary>
    /// An opener whose readers have all ended keeps the newest snapshot's lock for its next reader; once other
    /// commits make it stale, its timer drops it, so an idle process stops holding space.
    /// </summary>
    [Fact]
    public void IdleOpener_DropsItsStaleSnapshotLock()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var idle = KvDatabase.Open(path, NoTimer);
        using var writer = KvDatabase.Open(path, NoTimer);
        Rewrite(writer, 0);
        using (var r = idle.BeginRead()) AssertSnapshotIntact(r, 0);
        using var probe = LockFile.Open(LockFile.PathFor(path), path, 0x1B6, readOnlyDatabase: false); // a third holder
        var held = new List<long>();
        Assert.True(probe.FindLockedByOthers(LockFileLayout.SnapshotLockBase, 1L << 30, held, 100));
        Assert.NotEmpty(held); // kept for the next reader
        for (int round = 1; round <= 3; round++) Rewrite(writer, round);
        Assert.True(writer.GetStats().HeldFreePages > 0, "the stale lock should hold what the rewrites freed");
        Rewrite(writer, 4); // GetStats left a lock in the writer's opener too: now stale as well
        var deadline = DateTime.UtcNow + SnapshotLocks.IdlePeriod * 5;
        while (true)
        {
            held.Clear();
            Assert.True(probe.FindLockedByOthers(LockFileLayout.SnapshotLockBase, 1L << 30, held, 100));
            if (held.Count == 0) break; // the idle opener's, and the one GetStats left in the writer's opener
            Assert.True(DateTime.UtcNow < deadline, $"snapshot locks still held: {string.Join(", ", held)}");
            Thread.Sleep(50);
        }
        Rewrite(writer, 4);
        long length = new FileInfo(path).Length;
        for (int round = 5; round <= 14; round++) Rewrite(writer, round);
        Assert.Equal(length, new FileInfo(path).Length);
        using (var r = idle.BeginRead()) AssertSnapshotIntact(r, 14); // and the next reader takes a new lock
    }
}
