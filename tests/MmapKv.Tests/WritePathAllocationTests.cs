using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The write path allocates nothing in steady state: the WriteTransaction a caller holds is a handle to state the
/// database reuses (invariant L5), and puts, the commit's bookkeeping (allocator queues, sealed ranges, the snapshot, the tree writer) and the flush (commit
/// list, meta page image) reuse buffers the database owns. Measured with GC.GetAllocatedBytesForCurrentThread over
/// a workload that repeats exactly, after a warm-up. Process-wide state that other tests set (a meter listener, the
/// Windows backend's switches) would be measured here too, so this runs alone (<see cref="ProcessWideStateCollection"/>;
/// two CI runs under Wine measured about 47 KB more per round of 1,000 commits while it ran beside the other tests,
/// and never alone). A round is repeated (up to <see cref="Rounds"/> times) until one measures nothing; an
/// allocation per commit or per put would make every round fail, and the failure then lists the commits that
/// allocated.
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public class WritePathAllocationTests
{
    private const int Keys = 2000;
    private const int Rounds = 3;

    /// <summary>Runs <paramref name="round"/> after a warm-up until one round allocates exactly <paramref name="expected"/> bytes; returns the last measured.</summary>
    private static long SteadyRound(Action round, long expected)
    {
        long allocated = -1;
        for (int r = 0; r < Rounds && allocated != expected; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            round();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return allocated;
    }

    // Made once: the test must not count its own allocations.
    private static readonly byte[][] KeyTable = Enumerable.Range(0, Keys).Select(i => Bytes.Of($"key:{i * 7919 % Keys:D6}")).ToArray();

    private static byte[] Key(int i) => KeyTable[i];

    private static KvDatabase OpenFilled(TempDir dir)
    {
        // No interval timer: flushes happen only at the byte threshold, at the same commits every run.
        var db = KvDatabase.Open(dir.File(), new KvOptions { DeferredFlushInterval = Timeout.InfiniteTimeSpan, DeferredFlushBytes = 1 << 20 });
        using var tx = db.BeginWrite();
        for (int i = 0; i < Keys; i++) tx.Put(Key(i), new byte[100]);
        tx.Commit(Durability.Immediate);
        return db;
    }

    // Deferred: 3,000 warm-up commits (JIT, and the reused buffers reach their size: the threshold flushes every ~50
    // commits), then rounds of 1,000. Immediate: a flush per commit (commit list, meta page, writeback), rounds of 100.
    [Theory]
    [InlineData(Durability.Deferred, 3000, 1000)]
    [InlineData(Durability.Immediate, 100, 100)]
    public void OnePutCommits_AllocateNothing(Durability durability, int warmUp, int round)
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        var value = new byte[100];
        void Run(int commits)
        {
            for (int c = 0; c < commits; c++)
            {
                using var tx = db.BeginWrite();
                value[0] = (byte)c;
                tx.Put(Key(c % Keys), value);
                tx.Commit(durability);
            }
        }
        Run(warmUp);
        long got = SteadyRound(() => Run(round), 0);
        if (got != 0) Assert.Fail($"a round of {round} commits allocated {got} bytes; {AllocatingCommits(db, round, durability)}");
    }

    /// <summary>For a failure message: which of <paramref name="commits"/> more one-put commits allocated, and how much in BeginWrite/Put/Commit.</summary>
    private static string AllocatingCommits(KvDatabase db, int commits, Durability durability)
    {
        var deltas = new long[commits * 3];
        var value = new byte[100];
        var before = db.GetStats();
        for (int c = 0; c < commits; c++)
        {
            long a = GC.GetAllocatedBytesForCurrentThread();
            var tx = db.BeginWrite();
            long b = GC.GetAllocatedBytesForCurrentThread();
            tx.Put(Key(c % Keys), value);
            long d = GC.GetAllocatedBytesForCurrentThread();
            tx.Commit(durability);
            tx.Dispose();
            long e = GC.GetAllocatedBytesForCurrentThread();
            (deltas[3 * c], deltas[3 * c + 1], deltas[3 * c + 2]) = (b - a, d - b, e - d);
        }
        var after = db.GetStats();
        var text = new System.Text.StringBuilder($"file {before.FileSize} -> {after.FileSize} bytes, free pages {before.FreePages} -> {after.FreePages}, durable txn {after.DurableTxnId} of {after.TxnId}; extra bytes (begin/put/commit):");
        int shown = 0;
        for (int c = 0; c < commits && shown < 40; c++)
            if (deltas[3 * c] != 0 || deltas[3 * c + 1] != 0 || deltas[3 * c + 2] != 0)
            {
                text.Append($" #{c} {deltas[3 * c]}/{deltas[3 * c + 1]}/{deltas[3 * c + 2]}");
                shown++;
            }
        return shown == 0 ? text.Append(" none in a repeat").ToString() : text.ToString();
    }

    [Fact]
    public void PutsAndReservesInsideATransaction_AllocateNothing()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        var value = new byte[100];
        var large = new byte[9000]; // overflow runs too
        void Batch()
        {
            using var tx = db.BeginWrite();
            for (int i = 0; i < Keys; i += 2) tx.Put(Key(i), value);
            for (int i = 1; i < Keys; i += 20) large.CopyTo(tx.Reserve(Key(i), large.Length));
            for (int i = 3; i < Keys; i += 20) value.CopyTo(tx.Reserve(Key(i), value.Length));
            tx.Commit(Durability.Deferred);
        }
        for (int i = 0; i < 20; i++) Batch(); // the same keys every time, so the page sets settle at their size
        Assert.Equal(0, SteadyRound(() => { for (int i = 0; i < 10; i++) Batch(); }, 0));
    }

    /// <summary>
    /// The state behind a write transaction is reused by the next one, so an old transaction and its handles must
    /// still refuse every use once it ended, and must not disturb the transaction that now owns that state.
    /// </summary>
    [Fact]
    public void EndedTransactionAndItsHandles_ThrowAndLeaveTheNextTransactionAlone()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var first = db.BeginWrite();
        first.Put("a"u8, "1"u8);
        var tree = first.OpenTree("t");
        tree.Put("x"u8, "1"u8);
        var cursor = first.OpenCursor();
        Assert.True(cursor.First());
        first.Commit();

        using var second = db.BeginWrite();
        second.Put("b"u8, "2"u8);
        Assert.Throws<ObjectDisposedException>(() => first.Put("c"u8, "3"u8));
        Assert.Throws<ObjectDisposedException>(() => first.Reserve("c"u8, 1));
        Assert.Throws<ObjectDisposedException>(() => first.Delete("b"u8));
        Assert.Throws<ObjectDisposedException>(() => first.TryGet("b"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => first.Commit());
        Assert.Throws<ObjectDisposedException>(() => tree.Put("y"u8, "2"u8));
        Assert.Throws<ObjectDisposedException>(() => tree.Count);
        Assert.Throws<ObjectDisposedException>(() => cursor.Next());
        Assert.False(cursor.IsPositioned);
        first.Dispose(); // a late dispose of the old transaction must not abort the new one
        cursor.Dispose();
        second.Commit();

        using var read = db.BeginRead();
        Assert.True(read.TryGet("a"u8, out _));
        Assert.True(read.TryGet("b"u8, out _));
        Assert.False(read.TryGet("c"u8, out _));
        Assert.True(read.OpenTree("t").TryGet("x"u8, out _));
        Assert.False(read.OpenTree("t").TryGet("y"u8, out _));
    }
}
