using System.Diagnostics;

namespace MmapKv.Transactions;

/// <summary>
/// Lock-free registry of open read transactions and the snapshot each one sees. The writer reads it to find the
/// oldest snapshot still in use (reuse rule R1 in PageAllocator).
/// </summary>
/// <remarks>
/// <para>Protocol: a reader claims a slot, stores its snapshot id, then re-reads the published snapshot; if a commit
/// slipped in between, it moves to the newer snapshot and checks again. Both the store and the writer's scan are
/// full fences, so when the writer's scan misses a reader, that reader's re-check sees the writer's newer commit
/// and the reader never uses a snapshot the writer considered unprotected.</para>
/// <para>The last <see cref="InternalSlots"/> slots serve the database's own short reads (<c>Check</c>,
/// <c>GetStats</c>, <c>CopyTo</c>), so diagnosing a table full of leaked readers still works (invariant L1).</para>
/// <para>A reader that was never disposed and became unreachable is marked abandoned by its finalizer, with the
/// time. Its slot keeps protecting the snapshot for <see cref="GracePeriod"/> more, then the next scan frees it
/// (invariant L2, argued in docs/durability.md "Leaked read transactions"): a span taken from a transaction the
/// program no longer references is, in practice, not read that much later.</para>
/// </remarks>
internal sealed class ReaderTable
{
    /// <summary>Slots kept for the database's own reads, beyond the user's <c>MaxReaders</c>.</summary>
    public const int InternalSlots = 4;

    // One 64-byte cache line per slot, so readers on different cores don't share lines.
    private const int Stride = 8;
    private const int TxnField = 0;        // 0 = free, otherwise snapshot txn id + 1
    private const int StartedField = 1;    // Stopwatch timestamp of the claim
    private const int AbandonedField = 2;  // Stopwatch timestamp of the finalizer's mark; 0 while live

    private readonly long[] _slots;
    private readonly int _userSlots;
    private readonly int _capacity;
    private readonly string?[]? _sites;    // start call sites, with KvOptions.TrackTransactions
    private readonly long _graceTicks;
    private int _highWater;                // slots at or above this index have never been used

    public ReaderTable(int userSlots, TimeSpan gracePeriod, bool trackSites)
    {
        _userSlots = userSlots;
        _capacity = userSlots + InternalSlots;
        _slots = new long[_capacity * Stride];
        _sites = trackSites ? new string?[_capacity] : null;
        GracePeriod = gracePeriod;
        _graceTicks = gracePeriod == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(gracePeriod.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>How long an abandoned (finalized, never disposed) reader keeps its snapshot protected.</summary>
    public TimeSpan GracePeriod { get; }

    /// <summary>
    /// Registers a reader of the snapshot <paramref name="current"/> returns, and gives back that snapshot.
    /// <paramref name="internalUse"/> takes one of the slots kept for the database's own reads, waiting briefly if
    /// all of them are busy.
    /// </summary>
    /// <returns>The slot, or -1 if every user slot is held (the caller may reclaim abandoned slots and retry).</returns>
    public int TryAcquire(Func<Snapshot> current, bool internalUse, string? site, out Snapshot snapshot)
    {
        snapshot = current();
        if (internalUse)
        {
            var spin = new SpinWait();
            while (true)
            {
                int slot = TryClaim(_userSlots, InternalSlots, 0, ref snapshot, current, site);
                if (slot >= 0) return slot;
                spin.SpinOnce(); // four concurrent Check/GetStats/CopyTo calls: wait for one to end
            }
        }
        int start = (int)((uint)(Environment.CurrentManagedThreadId * 7) % (uint)_userSlots);
        return TryClaim(0, _userSlots, start, ref snapshot, current, site);
    }

    /// <summary>The error for a full table, naming the oldest readers (and where they started, when tracked).</summary>
    public ReaderSlotsFullException FullError() => new(_userSlots, Describe(OldestSites(3)));

    private int TryClaim(int from, int count, int start, ref Snapshot snapshot, Func<Snapshot> current, string? site)
    {
        for (int n = 0; n < count; n++)
        {
            int slot = from + (start + n) % count;
            int i = slot * Stride;
            if (Interlocked.CompareExchange(ref _slots[i + TxnField], snapshot.TxnId + 1, 0) != 0) continue;
            _slots[i + StartedField] = Stopwatch.GetTimestamp();
            if (_sites is not null) _sites[slot] = site;
            int hw;
            while ((hw = Volatile.Read(ref _highWater)) <= slot && Interlocked.CompareExchange(ref _highWater, slot + 1, hw) != hw) { }
            while (true)
            {
                var latest = current();
                if (latest.TxnId == snapshot.TxnId) return slot;
                snapshot = latest;
                Interlocked.Exchange(ref _slots[i + TxnField], snapshot.TxnId + 1);
            }
        }
        return -1;
    }

    public void Release(int slot)
    {
        if (_sites is not null) _sites[slot] = null;
        Volatile.Write(ref _slots[slot * Stride + TxnField], 0);
    }

    /// <summary>
    /// Called by the finalizer of a reader that was never disposed: starts its grace period. The slot still
    /// protects the snapshot until a scan after the grace period frees it.
    /// </summary>
    public void Abandon(int slot) => Volatile.Write(ref _slots[slot * Stride + AbandonedField], Math.Max(1, Stopwatch.GetTimestamp()));

    /// <summary>
    /// Frees every abandoned slot whose grace period has passed, and returns how many it freed (the caller drops
    /// the database reference each one held). Safe to call from any thread: a slot is freed by whoever clears its
    /// abandoned mark first.
    /// </summary>
    public int ReclaimAbandoned()
    {
        int freed = 0, hw = Volatile.Read(ref _highWater);
        long now = Stopwatch.GetTimestamp();
        for (int s = 0; s < hw; s++)
        {
            int i = s * Stride;
            long at = Volatile.Read(ref _slots[i + AbandonedField]);
            if (at == 0 || now - at < _graceTicks) continue;
            // The mark is cleared before the slot is freed, so a new owner of the slot never carries a stale mark,
            // and a second reclaimer's exchange fails instead of freeing the new owner's slot.
            if (Interlocked.CompareExchange(ref _slots[i + AbandonedField], 0, at) != at) continue;
            if (_sites is not null) _sites[s] = null;
            Volatile.Write(ref _slots[i + TxnField], 0);
            freed++;
        }
        return freed;
    }

    /// <summary>The oldest snapshot id any reader holds, or <see cref="long.MaxValue"/> when there are none.</summary>
    public long OldestSnapshot()
    {
        Interlocked.MemoryBarrier(); // order the writer's last publish before these loads (see remarks)
        long oldest = long.MaxValue;
        int hw = Volatile.Read(ref _highWater);
        for (int i = 0; i < hw; i++)
        {
            long v = Volatile.Read(ref _slots[i * Stride + TxnField]);
            if (v != 0 && v - 1 < oldest) oldest = v - 1;
        }
        return oldest;
    }

    /// <summary>The open readers (abandoned ones included, until freed), oldest first; the database's own reads excluded.</summary>
    public List<ReaderInfo> Snapshot()
    {
        var list = new List<ReaderInfo>();
        long now = Stopwatch.GetTimestamp();
        int hw = Math.Min(Volatile.Read(ref _highWater), _userSlots);
        for (int s = 0; s < hw; s++)
        {
            int i = s * Stride;
            long v = Volatile.Read(ref _slots[i + TxnField]);
            if (v == 0) continue;
            long started = Volatile.Read(ref _slots[i + StartedField]);
            bool abandoned = Volatile.Read(ref _slots[i + AbandonedField]) != 0;
            list.Add(new ReaderInfo(v - 1, Stopwatch.GetElapsedTime(started, now), abandoned, _sites?[s]));
        }
        list.Sort((a, b) => b.Age.CompareTo(a.Age));
        return list;
    }

    private List<ReaderInfo> OldestSites(int n)
    {
        var all = Snapshot();
        return all.Count > n ? all.GetRange(0, n) : all;
    }

    private static string Describe(List<ReaderInfo> oldest)
    {
        if (oldest.Count == 0) return "";
        var lines = oldest.Select(r => $"  snapshot {r.SnapshotTxnId}, open {r.Age.TotalSeconds:0.0} s" +
                                       (r.StartedAt is null ? "" : ", started at:\n" + Indent(r.StartedAt)));
        string hint = oldest[0].StartedAt is null ? "\nSet KvOptions.TrackTransactions = true to record where each read transaction was started." : "";
        return "\nOldest readers:\n" + string.Join("\n", lines) + hint;
    }

    private static string Indent(string s) => string.Join("\n", s.Split('\n').Select(l => "      " + l.TrimEnd()));
}
