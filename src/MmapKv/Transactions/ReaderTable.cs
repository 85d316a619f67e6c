using System.Diagnostics;
using System.Runtime.InteropServices;
using MmapKv.Format;
using static MmapKv.Format.LockFileLayout;

namespace MmapKv.Transactions;

/// <summary>Whether another opener of a shared database has gone (docs/format.md §12.3).</summary>
internal interface IOpenerLiveness
{
    /// <summary>Takes opener <paramref name="index"/>'s lock if it is free (the opener has gone); false if it is held.</summary>
    bool TryHoldGone(int index);

    /// <summary>Releases a lock <see cref="TryHoldGone"/> took.</summary>
    void Release(int index);
}

/// <summary>
/// Lock-free registry of open read transactions and the snapshot each one sees. The writer reads it to find the
/// oldest snapshot still in use (reuse rule R1 in PageAllocator). The slots live either in memory private to this
/// database (<see cref="KvOptions.Exclusive"/>) or in the lock file shared by every process that has the database
/// open (docs/format.md §12.3); the protocol is the same.
/// </summary>
/// <remarks>
/// <para>Protocol: a reader claims a slot by writing its owner word (compare-and-swap from 0), stores its snapshot
/// id, then re-reads the published snapshot; if a commit slipped in between, it moves to the newer snapshot and
/// checks again. Both the store and the writer's scan are full fences, so when the writer's scan misses a reader,
/// that reader's re-check sees the writer's newer commit and the reader never uses a snapshot the writer
/// considered unprotected (invariant L6 covers the same argument across processes: the fences are instructions on
/// shared memory).</para>
/// <para>The last <see cref="InternalSlots"/> slots serve the database's own short reads (<c>Check</c>,
/// <c>GetStats</c>, <c>CopyTo</c>), so diagnosing a table full of leaked readers still works (invariant L1).</para>
/// <para>A reader that was never disposed and became unreachable is marked abandoned by its finalizer, with the
/// time. Its slot keeps protecting the snapshot for <see cref="GracePeriod"/> more, then the next scan frees it
/// (invariant L2, argued in docs/durability.md "Leaked read transactions"). A slot whose owner process has died is
/// freed by any other process (invariant L7).</para>
/// </remarks>
internal sealed unsafe class ReaderTable : IDisposable
{
    /// <summary>Slots kept for the database's own reads, beyond the user's <c>MaxReaders</c>.</summary>
    public const int InternalSlots = 4;

    private long* _slots;                  // Capacity × WordsPerSlot words: private, or in the lock file's map
    private readonly bool _private;        // _slots was allocated here (freed at Dispose)
    private readonly long* _highWater;     // slots at or above it have never been claimed
    private long _privateHighWater;
    private readonly int _userSlots;
    private readonly int _capacity;
    private readonly long[] _abandonedAt;  // this process's slots only: the finalizer's mark, 0 while live
    private readonly string?[]? _sites;    // start call sites, with KvOptions.TrackTransactions (own slots)
    private readonly long _graceTicks;
    private readonly long _ownerPrefix;    // this process's pid × 2^32
    private readonly long _opener;          // this opener's index + 1 (0: a private table)
    private readonly IOpenerLiveness? _openers; // shared: whether another opener has gone (its lock is free)
    private int _claims;

    /// <summary>A table in memory private to this database.</summary>
    public ReaderTable(int userSlots, TimeSpan gracePeriod, bool trackSites)
        : this(null, null, userSlots + InternalSlots, gracePeriod, trackSites, -1, null) { }

    /// <summary>
    /// A table over <paramref name="slots"/> (<paramref name="capacity"/> slots, in the lock file's map), with
    /// <paramref name="highWater"/> beside it. Its slots name <paramref name="opener"/>; <paramref name="openers"/> says whether another opener has gone.
    /// </summary>
    public ReaderTable(long* slots, long* highWater, int capacity, TimeSpan gracePeriod, bool trackSites,
        int opener, IOpenerLiveness? openers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(capacity, InternalSlots);
        _capacity = capacity;
        _userSlots = capacity - InternalSlots;
        if (slots is null)
        {
            _private = true;
            _slots = (long*)NativeMemory.AlignedAlloc((nuint)capacity * SlotSize, SlotSize);
            new Span<byte>(_slots, capacity * SlotSize).Clear();
        }
        else _slots = slots;
        _highWater = highWater;
        _abandonedAt = new long[capacity];
        _sites = trackSites ? new string?[capacity] : null;
        GracePeriod = gracePeriod;
        _graceTicks = gracePeriod == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(gracePeriod.TotalSeconds * Stopwatch.Frequency);
        _ownerPrefix = (long)Environment.ProcessId << 32;
        _opener = opener + 1;
        _openers = openers;
    }

    /// <summary>
    /// Shared tables: the snapshots this opener's readers use, kept in this process and as kernel locks. What a writer
    /// may reuse is decided from them, never from the slots, which any opener can write (invariant L8).
    /// </summary>
    public SnapshotLocks? Locks { get; init; }

    /// <summary>Slots in all: the user's <c>MaxReaders</c> plus <see cref="InternalSlots"/>; slot numbers are below it.</summary>
    public int Capacity => _capacity;

    /// <summary>How long an abandoned (finalized, never disposed) reader keeps its snapshot protected.</summary>
    public TimeSpan GracePeriod { get; }

    private ref long Word(int slot, int field) => ref _slots[slot * WordsPerSlot + field];

    private ref long HighWater => ref _private ? ref _privateHighWater : ref *_highWater;

    private int HighWaterSlots => (int)Math.Min(Volatile.Read(ref HighWater), _capacity);

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
        // The claim number makes every claim's owner word unique, so a reclaimer's compare-and-swap can never free
        // a later claim of the same slot by mistake.
        long owner = _ownerPrefix | (uint)Math.Max(1, Interlocked.Increment(ref _claims) & int.MaxValue);
        for (int n = 0; n < count; n++)
        {
            int slot = from + (start + n) % count;
            if (Interlocked.CompareExchange(ref Word(slot, OwnerField), owner, 0) != 0) continue;
            Word(slot, StartedField) = Stopwatch.GetTimestamp();
            Word(slot, OpenerField) = _opener;
            if (_sites is not null) _sites[slot] = site;
            long hw;
            while ((hw = Volatile.Read(ref HighWater)) <= slot && Interlocked.CompareExchange(ref HighWater, slot + 1, hw) != hw) { }
            try
            {
                while (true)
                {
                    var locks = Locks;
                    locks?.Pin(slot, snapshot);
                    // A full fence: the slot and the pin are visible before the lock word and `latest` are read (L6, L8).
                    Interlocked.Exchange(ref Word(slot, TxnField), snapshot.TxnId + 1);
                    if (locks is not null && !locks.Covers(snapshot))
                    {
                        locks.Cover(); // the newest snapshot's lock, taken or found held (L8)
                        snapshot = current();
                        continue;
                    }
                    var latest = current();
                    if (latest.TxnId == snapshot.TxnId) return slot;
                    snapshot = latest;
                }
            }
            catch
            {
                Release(slot); // a lock that could not be taken, or a newest commit that could not be read
                throw;
            }
        }
        return -1;
    }

    public void Release(int slot)
    {
        Locks?.Unpin(slot);
        if (_sites is not null) _sites[slot] = null;
        Volatile.Write(ref Word(slot, TxnField), 0);
        Volatile.Write(ref Word(slot, OpenerField), 0);
        Volatile.Write(ref Word(slot, OwnerField), 0);
    }

    /// <summary>
    /// Called by the finalizer of a reader that was never disposed: starts its grace period. The slot still
    /// protects the snapshot until a scan after the grace period frees it.
    /// </summary>
    public void Abandon(int slot) => Volatile.Write(ref _abandonedAt[slot], Math.Max(1, Stopwatch.GetTimestamp()));

    /// <summary>
    /// Frees every abandoned slot of this process whose grace period has passed, and returns how many it freed
    /// (the caller drops the database reference each one held). Safe to call from any thread: a slot is freed by
    /// whoever clears its abandoned mark first.
    /// </summary>
    public int ReclaimAbandoned()
    {
        int freed = 0, hw = HighWaterSlots;
        long now = Stopwatch.GetTimestamp();
        for (int s = 0; s < hw; s++)
        {
            long at = Volatile.Read(ref _abandonedAt[s]);
            if (at == 0 || now - at < _graceTicks) continue;
            // The mark is cleared before the slot is freed, so a new owner of the slot never carries a stale mark,
            // and a second reclaimer's exchange fails instead of freeing the new owner's slot.
            if (Interlocked.CompareExchange(ref _abandonedAt[s], 0, at) != at) continue;
            Release(s);
            freed++;
        }
        return freed;
    }

    /// <summary>
    /// Frees the slots of openers that have gone (L7), and returns how many. An opener has gone when its opener
    /// lock can be taken; it is held while its slots are freed, so no new opener can take its index meanwhile. The
    /// owner word is read before and after the opener field it vouches for; a slot whose claim is still being
    /// written (no opener yet) is left alone. A private table has no other opener, and frees nothing.
    /// </summary>
    /// <param name="atOpen">Called once at open, before this opener claims any slot: slots that name this opener's own
    /// index are then a gone opener's too (the index is free for reuse once its holder has gone, and this opener holds
    /// its lock now), so they are freed as well. Later, such slots are this opener's own.</param>
    public int ReclaimDead(bool atOpen = false)
    {
        if (_openers is null) return 0;
        int freed = 0, hw = HighWaterSlots;
        List<int>? held = null;
        try
        {
            for (int s = 0; s < hw; s++)
            {
                long owner = Volatile.Read(ref Word(s, OwnerField));
                if (owner == 0 || owner == Reclaiming) continue;
                long opener = Volatile.Read(ref Word(s, OpenerField));
                if (opener == 0 || (opener == _opener && !atOpen) || Volatile.Read(ref Word(s, OwnerField)) != owner) continue;
                int index = (int)(opener - 1);
                // A slot under this opener's own index gets here only at open; that lock is held already, by this opener.
                if (opener != _opener && (held is null || !held.Contains(index)))
                {
                    if (!_openers.TryHoldGone(index)) continue; // alive: it holds its lock
                    (held ??= new List<int>()).Add(index);
                }
                if (Interlocked.CompareExchange(ref Word(s, OwnerField), Reclaiming, owner) != owner) continue;
                Volatile.Write(ref Word(s, TxnField), 0);
                Volatile.Write(ref Word(s, OpenerField), 0);
                Volatile.Write(ref Word(s, OwnerField), 0);
                freed++;
            }
        }
        finally
        {
            if (held is not null) foreach (int index in held) _openers.Release(index);
        }
        return freed;
    }

    /// <summary>
    /// The oldest snapshot id any reader holds, or <see cref="long.MaxValue"/> when there are none. A writer's bound
    /// only for a private table; a shared one's slots can be written by any opener (L8: see <see cref="Locks"/>).
    /// </summary>
    public long OldestSnapshot()
    {
        Interlocked.MemoryBarrier(); // order the writer's last publish before these loads (see remarks)
        long oldest = long.MaxValue;
        int hw = HighWaterSlots;
        for (int i = 0; i < hw; i++)
        {
            long v = Volatile.Read(ref Word(i, TxnField));
            if (v != 0 && v - 1 < oldest) oldest = v - 1;
        }
        return oldest;
    }

    /// <summary>
    /// How many user slots are held (abandoned ones included, until freed) and the age of the oldest, for metrics:
    /// one pass of plain loads over the slots in use, no lock and no allocation.
    /// </summary>
    public int Summarize(out TimeSpan oldestAge)
    {
        long now = Stopwatch.GetTimestamp(), oldestStart = now;
        int held = 0, hw = Math.Min(HighWaterSlots, _userSlots);
        for (int s = 0; s < hw; s++)
        {
            if (Volatile.Read(ref Word(s, TxnField)) == 0) continue;
            held++;
            long started = Volatile.Read(ref Word(s, StartedField));
            // A slot claimed this instant may not have its start stored yet: 0 on first use (skipped), or for a
            // few nanoseconds the previous owner's start. Metrics tolerate that; GetStats has the same race.
            if (started != 0 && started < oldestStart) oldestStart = started;
        }
        oldestAge = Stopwatch.GetElapsedTime(oldestStart, now);
        return held;
    }

    /// <summary>The open readers (abandoned ones included, until freed), oldest first; the database's own reads excluded.</summary>
    public List<ReaderInfo> Snapshot()
    {
        var list = new List<ReaderInfo>();
        long now = Stopwatch.GetTimestamp();
        int hw = Math.Min(HighWaterSlots, _userSlots);
        for (int s = 0; s < hw; s++)
        {
            long v = Volatile.Read(ref Word(s, TxnField));
            if (v == 0) continue;
            long owner = Volatile.Read(ref Word(s, OwnerField));
            long started = Volatile.Read(ref Word(s, StartedField));
            bool mine = Volatile.Read(ref Word(s, OpenerField)) == _opener;
            bool abandoned = mine && Volatile.Read(ref _abandonedAt[s]) != 0;
            var age = started == 0 || started > now ? TimeSpan.Zero : Stopwatch.GetElapsedTime(started, now);
            list.Add(new ReaderInfo(v - 1, age, abandoned, mine ? _sites?[s] : null) { ProcessId = (int)(owner >>> 32) });
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
        var lines = oldest.Select(r => $"  snapshot {r.SnapshotTxnId}, open {r.Age.TotalSeconds:0.0} s, process {r.ProcessId}" +
                                       (r.StartedAt is null ? "" : ", started at:\n" + Indent(r.StartedAt)));
        string hint = oldest[0].StartedAt is null ? "\nSet KvOptions.TrackTransactions = true to record where each read transaction was started." : "";
        return "\nOldest readers:\n" + string.Join("\n", lines) + hint;
    }

    private static string Indent(string s) => string.Join("\n", s.Split('\n').Select(l => "      " + l.TrimEnd()));

    /// <summary>Frees a private table's memory. Called when the map goes (no reader is left).</summary>
    public void Dispose()
    {
        Locks?.Dispose();
        if (_private && _slots is not null) NativeMemory.AlignedFree(_slots);
        _slots = null;
    }
}
