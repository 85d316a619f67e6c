using System.Diagnostics;

namespace MmapKv.Transactions;

/// <summary>The snapshot locks of a lock file (docs/format.md §12.4), as <see cref="SnapshotLocks"/> uses them.</summary>
internal interface ISnapshotLockFile
{
    /// <summary>The lock file's path, for errors.</summary>
    string Path { get; }

    /// <summary>Takes the snapshot lock of the snapshot whose free-map directory starts at <paramref name="mapPage"/>, shared; false if another holder has it exclusively.</summary>
    bool TryLockSnapshot(long mapPage);

    /// <summary>Releases a snapshot lock <see cref="TryLockSnapshot"/> took.</summary>
    void UnlockSnapshot(long mapPage);

    /// <summary>
    /// Adds the map pages below <paramref name="pageCount"/> whose snapshot lock another holder has; false when more
    /// than <paramref name="limit"/> are locked (see <see cref="Storage.ILockFile.FindLockedByOthers"/>).
    /// </summary>
    bool FindOthersSnapshots(long pageCount, List<long> mapPages, int limit);
}

/// <summary>
/// Which snapshots this opener's read transactions use, kept where no other process can change it: in this
/// process's memory (<see cref="OwnSnapshots"/>, for this opener's own writer) and as kernel locks on the lock file,
/// one per snapshot, named by the first page of the snapshot's free-map directory run (for other processes'
/// writers). The reader slots in the lock file are shared memory that any opener may write; what a writer reuses
/// never depends on them (invariant L8, docs/durability.md §14.6).
/// </summary>
/// <remarks>
/// <para>The reader's side costs no system call while the newest snapshot stays the same: a reader pins its
/// snapshot in its slot's private words, then (after the fence of its shared slot store) finds that snapshot's lock already held (the newest one is always kept).
/// The first reader after a commit takes the new snapshot's lock, and drops the locks no pinned reader needs any
/// more. A lock is taken, then the newest commit is read again: only a lock whose snapshot was still the newest
/// after it was taken is relied on, so a writer that looked for locks before it was taken had published nothing
/// newer, and gave no page of that snapshot away (invariant L8).</para>
/// <para>Dropping a lock races with a reader that is about to rely on it. Both sides write first and read second,
/// with full fences (Dekker): the reader pins, then reads <see cref="_newest"/>; the dropper changes
/// <see cref="_newest"/>, then reads the pins. Either the dropper sees the pin and keeps the lock, or the reader sees
/// the change and takes the slow path, which waits for the dropper.</para>
/// <para>An opener whose readers have all ended still holds the newest snapshot's lock, so that its next reader
/// needs no system call; a timer drops it once another commit has made it stale (every
/// <see cref="IdlePeriod"/>), so an idle process holds back at most the pages freed since.</para>
/// </remarks>
internal sealed class SnapshotLocks : IDisposable
{
    /// <summary>How often an opener checks whether the lock it keeps for its next reader has gone stale.</summary>
    internal static TimeSpan IdlePeriod = TimeSpan.FromSeconds(1);

    /// <summary>Locked snapshots a writer looks at before it assumes the worst (another program may lock whole ranges).</summary>
    public const int SearchLimit = 4096;

    private const int Stride = 8;   // one cache line per slot: readers on different threads never share one
    private const int TxnWord = 0;  // the pinned snapshot's txn id + 1; 0 when the slot pins nothing
    private const int MapWord = 1;  // its free-map directory page (0: the snapshot has no map and needs no lock)

    private readonly ISnapshotLockFile _file;
    private readonly Func<Snapshot> _current;
    private readonly long[] _pins;
    private readonly object _gate = new();
    private readonly List<long> _held = [];  // map pages whose lock this opener holds (under _gate)
    private long _newest;                     // the newest of them, the one readers find without the gate; 0: none
    private Timer? _timer;                    // started with the first lock (under _gate)
    private bool _disposed;                   // under _gate

    public SnapshotLocks(ISnapshotLockFile file, int slots, Func<Snapshot> current)
    {
        _file = file;
        _current = current;
        _pins = new long[slots * Stride];
    }

    /// <summary>
    /// Pins <paramref name="snapshot"/> in <paramref name="slot"/>. The caller then issues a full fence (its store of
    /// the slot's shared txn word) before <see cref="Covers"/>, so the pin is visible before the lock word is read.
    /// </summary>
    public void Pin(int slot, Snapshot snapshot)
    {
        Volatile.Write(ref _pins[slot * Stride + MapWord], snapshot.Meta.FreeMapPage);
        Volatile.Write(ref _pins[slot * Stride + TxnWord], snapshot.TxnId + 1);
    }

    /// <summary>
    /// Whether a lock this opener holds covers <paramref name="snapshot"/>, pinned before a full fence. False: call
    /// <see cref="Cover"/>, then pin the newest snapshot again.
    /// </summary>
    public bool Covers(Snapshot snapshot)
    {
        long map = snapshot.Meta.FreeMapPage;
        return map == 0 || Volatile.Read(ref _newest) == map;
    }

    /// <summary>Unpins <paramref name="slot"/> (its reader has ended).</summary>
    public void Unpin(int slot) => Volatile.Write(ref _pins[slot * Stride + TxnWord], 0);

    /// <summary>
    /// The slow path of <see cref="Covers"/>: takes the lock of the newest snapshot, checked to be still the newest after
    /// the lock was taken, and drops the locks that no pinned reader needs.
    /// </summary>
    public void Cover()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (true)
            {
                var snapshot = _current();
                long map = snapshot.Meta.FreeMapPage;
                if (map == 0) break;
                if (!_held.Contains(map))
                {
                    Take(map);
                    _held.Add(map);
                    _timer ??= new Timer(static state => ((SnapshotLocks)state!).DropStaleQuietly(), this, IdlePeriod, IdlePeriod);
                }
                Interlocked.Exchange(ref _newest, map);
                if (_current().TxnId == snapshot.TxnId) break;
            }
            DropUnpinned(keep: Volatile.Read(ref _newest));
        }
    }

    /// <summary>Takes a snapshot lock shared. Only another program holds one exclusively for more than a moment.</summary>
    private void Take(long map)
    {
        // A Windows writer learns which bytes are locked by locking ranges exclusively for a moment (ILockFile).
        long started = Stopwatch.GetTimestamp();
        var spin = new SpinWait();
        while (!_file.TryLockSnapshot(map))
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(5))
                throw new MmapKvException(
                    $"Snapshot lock {map} of lock file {_file.Path} has been held exclusively by another process for 5 s. " +
                    "MmapKv never holds one that long: another program is locking the lock file.");
            spin.SpinOnce(sleep1Threshold: 10);
        }
    }

    /// <summary>Drops every held lock but <paramref name="keep"/> that no pinned reader's snapshot names. Under the gate.</summary>
    private void DropUnpinned(long keep)
    {
        for (int i = _held.Count - 1; i >= 0; i--)
        {
            long map = _held[i];
            if (map == keep || IsPinned(map)) continue;
            _file.UnlockSnapshot(map);
            _held.RemoveAt(i);
        }
    }

    private bool IsPinned(long map)
    {
        for (int s = 0; s < _pins.Length; s += Stride)
            if (Volatile.Read(ref _pins[s + TxnWord]) != 0 && Volatile.Read(ref _pins[s + MapWord]) == map) return true;
        return false;
    }

    private void DropStaleQuietly()
    {
        // On a timer thread, where an exception would end the process: a lock that cannot be dropped now is tried
        // again at the next tick (it only holds space meanwhile).
        try { DropStale(); }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// The timer's work, and the writer's before it looks for locks: once the newest commit has moved past the lock
    /// kept for the next reader, and no reader pins it, the lock goes (with any other unpinned one).
    /// </summary>
    internal void DropStale()
    {
        lock (_gate)
        {
            if (_disposed) return;
            long newest = Volatile.Read(ref _newest);
            if (newest != 0 && _current().Meta.FreeMapPage != newest)
            {
                Interlocked.Exchange(ref _newest, 0); // full fence before the pins are read (Dekker, see remarks)
                if (IsPinned(newest)) Interlocked.Exchange(ref _newest, newest);
            }
            DropUnpinned(keep: Volatile.Read(ref _newest));
        }
    }

    /// <summary>The oldest snapshot this opener's readers pin now, or <see cref="long.MaxValue"/> when none does.</summary>
    public long OwnOldest()
    {
        Interlocked.MemoryBarrier(); // order the writer's last publish before these loads, as ReaderTable.OldestSnapshot
        long oldest = long.MaxValue;
        for (int s = 0; s < _pins.Length; s += Stride)
        {
            long txn = Volatile.Read(ref _pins[s + TxnWord]);
            if (txn != 0 && txn - 1 < oldest) oldest = txn - 1;
        }
        return oldest;
    }

    /// <summary>The snapshots this opener's readers pin now: txn id and free-map directory page (0: none).</summary>
    public List<(long TxnId, long MapPage)> OwnSnapshots()
    {
        Interlocked.MemoryBarrier(); // order the writer's last publish before these loads, as ReaderTable.OldestSnapshot
        var own = new List<(long, long)>();
        for (int s = 0; s < _pins.Length; s += Stride)
        {
            long txn = Volatile.Read(ref _pins[s + TxnWord]);
            if (txn == 0) continue;
            var entry = (txn - 1, Volatile.Read(ref _pins[s + MapWord]));
            if (!own.Contains(entry)) own.Add(entry);
        }
        return own;
    }

    /// <summary>
    /// Adds the free-map directory pages of the snapshots other openers' readers hold locks on (each names a snapshot
    /// some reader may use; another program's locks add entries, never remove one). False when more than
    /// <see cref="SearchLimit"/> are locked: the caller then assumes every snapshot is in use. Allocates nothing
    /// once <paramref name="mapPages"/> has grown to the number found.
    /// </summary>
    public bool FindOthers(long pageCount, List<long> mapPages)
    {
        // Under the gate: the Windows search skips this handle's own locks, which must not change meanwhile.
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _file.FindOthersSnapshots(pageCount, mapPages, SearchLimit);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _timer?.Dispose();
            foreach (long map in _held) _file.UnlockSnapshot(map);
            _held.Clear();
            Volatile.Write(ref _newest, 0);
        }
    }
}
