using System.Text;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Several openers of one database in shared mode (the default; docs/durability.md §14). Each KvDatabase instance
/// has its own lock-file description, so two instances in this process coordinate exactly as two processes do:
/// the writer lock, the reader table and the publication all go through the lock file. Real processes are in
/// MultiProcessTests.
/// </summary>
public class SharedModeTests(ITestOutputHelper output)
{
    private static readonly KvOptions NoTimer = new() { DeferredFlushInterval = TimeSpan.Zero, MaxSize = 1L << 30 };

    private static byte[] K(int i) => Encoding.UTF8.GetBytes($"key{i:D6}");

    [Fact]
    public void TwoOpeners_SeeEachOthersCommits_AndShareOneWriter()
    {
        using var dir = new TempDir();
        using var a = KvDatabase.Open(dir.File(), NoTimer);
        using var b = KvDatabase.Open(dir.File(), NoTimer);
        using (var tx = a.BeginWrite())
        {
            tx.Put("from"u8, "a"u8);
            tx.Commit();
        }
        using (var r = b.BeginRead())
        {
            Assert.True(r.TryGet("from"u8, out var v));
            Assert.Equal("a", Encoding.UTF8.GetString(v));
        }
        Assert.Equal(a.LastTxnId, b.LastTxnId);
        using (var tx = b.BeginWrite())
        {
            // The other opener cannot start a write transaction meanwhile.
            Assert.Throws<TimeoutException>(() => a.BeginWrite(TimeSpan.FromMilliseconds(50)));
            tx.Put("from"u8, "b"u8);
            tx.Commit();
        }
        using (var r = a.BeginRead())
        {
            Assert.True(r.TryGet("from"u8, out var v));
            Assert.Equal("b", Encoding.UTF8.GetString(v));
        }
        Assert.True(a.Check().IsValid);
        Assert.True(b.Check().IsValid);
    }

    /// <summary>
    /// A reader of one opener keeps its snapshot while the other opener rewrites every key many times: the writer
    /// sees the reader in the shared table and never reuses the pages that snapshot reaches (R1 across openers),
    /// including right after it takes over from the first opener's writer.
    /// </summary>
    [Fact]
    public void ReaderOfOneOpener_KeepsItsSnapshot_WhileTheOtherRewritesEverything()
    {
        using var dir = new TempDir();
        using var a = KvDatabase.Open(dir.File(), NoTimer);
        using var b = KvDatabase.Open(dir.File(), NoTimer);
        const int n = 2000;
        using (var tx = a.BeginWrite())
        {
            for (int i = 0; i < n; i++) tx.Put(K(i), Encoding.UTF8.GetBytes($"v0-{i}"));
            tx.Commit();
        }
        var reader = a.BeginRead();
        try
        {
            for (int round = 1; round <= 20; round++)
            {
                var writer = round % 2 == 0 ? a : b; // alternate, so every round after the first is a takeover
                using var tx = writer.BeginWrite();
                for (int i = 0; i < n; i++) tx.Put(K(i), Encoding.UTF8.GetBytes($"v{round}-{i}-{new string('x', round % 7)}"));
                tx.Commit();
            }
            for (int i = 0; i < n; i++)
            {
                Assert.True(reader.TryGet(K(i), out var v));
                Assert.Equal($"v0-{i}", Encoding.UTF8.GetString(v));
            }
        }
        finally { reader.Dispose(); }
        using (var r = b.BeginRead())
        {
            Assert.True(r.TryGet(K(7), out var v));
            Assert.StartsWith("v20-7-", Encoding.UTF8.GetString(v));
        }
        var report = b.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    /// <summary>A Deferred commit of one opener is made durable by the other's takeover or Flush.</summary>
    [Fact]
    public void DeferredCommitOfOneOpener_IsMadeDurableByTheOther()
    {
        using var dir = new TempDir();
        var deferred = NoTimer with { Durability = Durability.Deferred };
        using var a = KvDatabase.Open(dir.File(), deferred);
        using var b = KvDatabase.Open(dir.File(), NoTimer);
        using (var tx = a.BeginWrite())
        {
            tx.Put("d"u8, "1"u8);
            tx.Commit();
        }
        long committed = a.LastTxnId;
        Assert.True(b.DurableTxnId < committed);
        b.Flush();
        Assert.True(b.DurableTxnId >= committed, $"durable {b.DurableTxnId} after Flush, commit {committed}");
        using (var tx = a.BeginWrite())
        {
            tx.Put("d"u8, "2"u8);
            tx.Commit();
        }
        using (var tx = b.BeginWrite()) // the takeover makes a's second commit durable before b writes
        {
            Assert.True(b.DurableTxnId >= a.LastTxnId);
            tx.Put("e"u8, "3"u8);
            tx.Commit();
        }
        Assert.True(a.Check().IsValid);
    }

    /// <summary>One opener grows the file far past the other's view of it; the other reads the new pages.</summary>
    [Fact]
    public void GrowthByOneOpener_IsSeenByTheOther()
    {
        using var dir = new TempDir();
        using var a = KvDatabase.Open(dir.File(), NoTimer);
        using var b = KvDatabase.Open(dir.File(), NoTimer);
        long before = new FileInfo(dir.File()).Length;
        using (var tx = a.BeginWrite())
        {
            for (int i = 0; i < 40; i++) tx.Put(K(i), Filled(1 << 20, (byte)i));
            tx.Commit();
        }
        Assert.True(new FileInfo(dir.File()).Length > before + (32L << 20));
        using (var r = b.BeginRead())
            for (int i = 0; i < 40; i++)
            {
                Assert.True(r.TryGet(K(i), out var v));
                Assert.Equal(1 << 20, v.Length);
                Assert.Equal((byte)i, v[^1]);
            }
        using (var tx = b.BeginWrite()) // b's writer starts from a's larger file, without cutting it
        {
            tx.Put(K(1000), Filled(3 << 20, 9));
            tx.Commit();
        }
        Assert.True(b.Check().IsValid);
        Assert.True(a.Check().IsValid);
    }

    private static byte[] Filled(int length, byte b)
    {
        var a = new byte[length];
        a.AsSpan().Fill(b);
        return a;
    }

    /// <summary>A file grown past an opener's MaxSize gives a clear MmapKvException there, never a fault.</summary>
    [Fact]
    public void FileGrownPastAnOpenersMaxSize_GivesAClearError()
    {
        using var dir = new TempDir();
        using var big = KvDatabase.Open(dir.File(), NoTimer);
        using var small = KvDatabase.Open(dir.File(), NoTimer with { MaxSize = 8L << 20 });
        using (var tx = big.BeginWrite())
        {
            tx.Put("large"u8, Filled(16 << 20, 1));
            tx.Commit();
        }
        var e = Assert.ThrowsAny<MmapKvException>(() => small.BeginRead().Dispose());
        output.WriteLine(e.Message);
        Assert.Contains("MaxSize", e.Message);
        Assert.ThrowsAny<MmapKvException>(() => small.BeginWrite().Dispose());
        using var r = big.BeginRead();
        Assert.True(r.TryGet("large"u8, out _));
    }

    /// <summary>Readers of every opener are listed, with their process; GetStats sees them all.</summary>
    [Fact]
    public void GetStats_ListsTheReadersOfEveryOpener()
    {
        using var dir = new TempDir();
        using var a = KvDatabase.Open(dir.File(), NoTimer);
        using var b = KvDatabase.Open(dir.File(), NoTimer);
        using var ra = a.BeginRead();
        using var rb = b.BeginRead();
        var readers = a.GetStats().Readers;
        Assert.Equal(2, readers.Count);
        Assert.All(readers, r => Assert.Equal(Environment.ProcessId, r.ProcessId));
    }

    /// <summary>Closing one opener leaves the other working; the last one out may shrink the file, the others not.</summary>
    [Fact]
    public void ClosingOneOpener_LeavesTheOtherWorking()
    {
        using var dir = new TempDir();
        var a = KvDatabase.Open(dir.File(), NoTimer);
        using var b = KvDatabase.Open(dir.File(), NoTimer);
        using (var tx = a.BeginWrite())
        {
            for (int i = 0; i < 1000; i++) tx.Put(K(i), new byte[500]);
            tx.Commit();
        }
        a.Dispose();
        using (var tx = b.BeginWrite())
        {
            for (int i = 1000; i < 2000; i++) tx.Put(K(i), new byte[500]);
            tx.Commit();
        }
        using (var r = b.BeginRead())
        {
            Assert.True(r.TryGet(K(5), out _));
            Assert.True(r.TryGet(K(1500), out _));
        }
        Assert.True(b.Check().IsValid);
    }

    /// <summary>
    /// Bug pinned (seen under Wine, where a child process starts slowly): a process measured the file, other processes
    /// then grew it, committed and exited, and only then did it take the lock file as the sole opener. It chose its
    /// meta slot against the length it had measured, so the newest commit looked truncated: it opened an older
    /// commit (or, with the other slot torn, refused the file as corrupt). The sole opener now measures again.
    /// </summary>
    [Fact]
    public void SoleOpener_AfterOthersGrewTheFileAndLeft_OpensTheirNewestCommit()
    {
        using var dir = new TempDir();
        string path = dir.File();
        KvDatabase.Open(path, NoTimer).Dispose();
        var storage = MmapKv.Storage.MappedStorage.Open(path, readOnly: false, NoTimer.MaxSize, createNew: false, 0, exclusiveLock: false);
        long measured = storage.Length;
        using (var other = KvDatabase.Open(path, NoTimer))
        {
            for (int round = 0; round < 2; round++) // both slots newer than the measured length
            {
                using var tx = other.BeginWrite();
                for (int i = 0; i < 4000; i++) tx.Put(Encoding.UTF8.GetBytes($"k{round}/{i:D5}"), new byte[200]);
                tx.Commit(Durability.Immediate);
            }
        }
        Assert.True(new FileInfo(path).Length > measured, "the other process did not grow the file");
        KvDatabase db;
        try { db = KvDatabase.OpenShared(path, storage, NoTimer); }
        catch
        {
            storage.Dispose();
            throw;
        }
        using (db)
        {
            using (var r = db.BeginRead())
            {
                Assert.True(r.TryGet("k1/03999"u8, out _), "the sole opener opened an older commit");
                Assert.True(r.TryGet("k0/00000"u8, out _));
            }
            Assert.True(db.Check().IsValid);
        }
    }

    /// <summary>Overwrites the first bytes of both meta slots of <paramref name="storage"/> (page size 4096) and returns what was there.</summary>
    private static unsafe byte[][] TearBothSlots(MmapKv.Storage.IStorage storage)
    {
        var saved = new byte[2][];
        for (int slot = 0; slot < 2; slot++)
        {
            saved[slot] = new ReadOnlySpan<byte>((byte*)storage.Base + slot * 4096, 64).ToArray();
            storage.Write(slot * 4096, Enumerable.Repeat((byte)0xA5, 64).ToArray());
        }
        return saved;
    }

    /// <summary>
    /// Bug caught (seen under Wine, four processes committing Deferred): a process joining the file read slot 0 torn
    /// by one commit and slot 1 torn by the next, and its open failed with "both meta pages are damaged". The
    /// joiner now reads both slots again before it believes that; here the other process's rewrite is simulated by
    /// restoring the slots before the third read.
    /// </summary>
    [Fact]
    public void Joiner_FindingBothSlotsTorn_ReadsThemAgain()
    {
        using var dir = new TempDir();
        string path = dir.File();
        KvDatabase.Open(path, NoTimer).Dispose();
        using var storage = MmapKv.Storage.MappedStorage.Open(path, readOnly: false, NoTimer.MaxSize, createNew: false, 0, exclusiveLock: false);
        var saved = TearBothSlots(storage);
        var retries = new List<int>();
        int pageSize = MmapKv.Transactions.MetaSlots.PageSize(storage, n =>
        {
            retries.Add(n);
            if (n == 2) for (int slot = 0; slot < 2; slot++) storage.Write(slot * 4096, saved[slot]);
        });
        Assert.Equal(4096, pageSize);
        Assert.Equal([1, 2], retries);
    }

    /// <summary>Both slots damaged for good: the joiner gives up after its attempts and says the file is damaged, as an open does.</summary>
    [Fact]
    public void Joiner_FindingBothSlotsDamagedForGood_SaysSo()
    {
        using var dir = new TempDir();
        string path = dir.File();
        KvDatabase.Open(path, NoTimer).Dispose();
        using (var storage = MmapKv.Storage.MappedStorage.Open(path, readOnly: false, NoTimer.MaxSize, createNew: false, 0, exclusiveLock: false))
        {
            TearBothSlots(storage);
            int retries = 0;
            var e = Assert.Throws<CorruptDatabaseException>(() => MmapKv.Transactions.MetaSlots.PageSize(storage, _ => retries++));
            Assert.Equal(MmapKv.Transactions.MetaSlots.PageSizeAttempts - 1, retries);
            Assert.Contains("both meta pages are damaged", e.Message);
        }
        Assert.Throws<CorruptDatabaseException>(() => KvDatabase.Open(path, NoTimer));
    }

    /// <summary>
    /// The race itself, in one process: one opener commits Deferred as fast as it can (alternating slots) while
    /// other openers join and leave. Every join succeeds and sees a commit at least as new as the last one before it
    /// began.
    /// </summary>
    [Fact]
    public void Openers_JoiningWhileAnotherCommitsAsFastAsItCan_AllOpen()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var writer = KvDatabase.Open(path, NoTimer);
        using var started = new ManualResetEventSlim();
        long commits = 0;
        bool stop = false;
        Exception? failure = null;
        // A thread of its own, started before the joins: a thread-pool task could wait behind other tests' work
        // until every join was over (seen under Wine: no commit during the 200 joins).
        var committer = new Thread(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop))
                {
                    using var tx = writer.BeginWrite();
                    tx.Put("n"u8, BitConverter.GetBytes(Interlocked.Increment(ref commits)));
                    tx.Commit(Durability.Deferred);
                    started.Set();
                }
            }
            catch (Exception e) { failure = e; started.Set(); }
        }) { IsBackground = true };
        committer.Start();
        long atStart;
        try
        {
            Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "the committer made no commit in 60 s");
            atStart = Interlocked.Read(ref commits);
            for (int i = 0; i < 200 && failure is null; i++)
            {
                long before = writer.LastTxnId;
                using var joiner = KvDatabase.Open(path, NoTimer);
                Assert.True(joiner.LastTxnId >= before, $"join {i} saw txn {joiner.LastTxnId}, older than {before}");
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            committer.Join();
        }
        if (failure is not null) throw new Xunit.Sdk.XunitException($"the committer failed: {failure}");
        long during = Interlocked.Read(ref commits) - atStart;
        output.WriteLine($"{during} commits during 200 joins");
        Assert.True(during > 0, "no commit during the joins");
    }
}
