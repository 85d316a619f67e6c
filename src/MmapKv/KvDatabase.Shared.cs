using MmapKv.Checking;
using MmapKv.Pages;
using MmapKv.Format;
using MmapKv.FreeSpace;
using MmapKv.Storage;
using MmapKv.Transactions;

namespace MmapKv;

/// <summary>
/// Sharing one database between processes (docs/durability.md §14, the lock file in docs/format.md §12): joining
/// the lock file at open, taking over from another process's writer, and making other processes' commits durable.
/// Nothing here runs with <see cref="KvOptions.Exclusive"/>.
/// </summary>
public sealed partial class KvDatabase
{
    /// <summary>
    /// Opens the lock file beside <paramref name="path"/>. A read-only open on a read-only file system goes on
    /// without one: nothing can write the database there, so a private reader table protects all it needs
    /// (docs/durability.md §14.1).
    /// </summary>
    private static SharedState? JoinLockFile(string path, IStorage storage, KvOptions options)
    {
        // Only the page size: another process may be writing a meta slot now, and a joiner's state comes from the lock file.
        int pageSize = MetaSlots.PageSize(storage);
        try
        {
            return SharedState.Open(path, options.CreateMode, storage.IsReadOnly, pageSize);
        }
        catch (ReadOnlyFileSystemException) when (storage.IsReadOnly)
        {
            return null;
        }
    }

    /// <summary>
    /// A shared open over <paramref name="storage"/>, mapped by this process beforehand: joins the lock file beside
    /// <paramref name="path"/> (or becomes its sole opener) and opens. On failure the lock file is released; the
    /// storage stays the caller's.
    /// </summary>
    internal static KvDatabase OpenShared(string path, IStorage storage, KvOptions options)
    {
        var shared = JoinLockFile(path, storage, options);
        try { return Open(path, storage, options, shared); }
        catch
        {
            shared?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An exclusive read-write open of a database that processes shared before (its lock file is there; the
    /// exclusive file lock guarantees none of them has it open now). A Deferred commit a process of this boot left
    /// in the page cache is made durable as a shared open would, and the lock file is then removed, since this open
    /// may write the database without it and its content would be stale.
    /// </summary>
    private static KvDatabase OpenExclusiveAfterSharing(string path, IStorage storage, KvOptions options)
    {
        var shared = JoinLockFile(path, storage, options);
        if (shared is null) return Open(path, storage, options, null);
        try
        {
            if (!shared.Rebuilt) throw new DatabaseLockedException($"{path} is open in another process (its lock file is held); an exclusive open needs it to be the only opener.");
            var chosen = MetaSlots.Select(storage);
            if (Adoptable(shared, storage, chosen) is { } inherited) MakeInheritedDurable(storage, chosen, inherited);
            File.Delete(LockFile.PathFor(path));
        }
        finally { shared.Dispose(); }
        return Open(path, storage, options, null);
    }

    /// <summary>
    /// The commit a rebuilt lock file inherited, if the sole opener may adopt it (docs/durability.md §14.4): of
    /// this boot, newer than the chosen meta, inside the file, and recorded as extending exactly the chosen meta, so
    /// nothing wrote the database since.
    /// </summary>
    private static MetaRecord? Adoptable(SharedState shared, IStorage storage, in MetaSelection chosen) =>
        shared.Inherited is { } inherited && inherited.TxnId > chosen.Meta.TxnId && inherited.Validate(storage.Length) is null
            && shared.InheritedDurable == (chosen.Meta.TxnId, chosen.Slot)
            ? inherited : null;

    /// <summary>A process that joins a database others have open: it starts from the newest commit in the lock file.</summary>
    private static KvDatabase Join(string path, IStorage storage, KvOptions options, SharedState shared)
    {
        var meta = shared.ReadLatest();
        storage.CoverAtOpen(meta.PageCount * meta.PageSize, isDatabase: true); // a sole opener validated it and built the lock file
        var (durableTxn, durableSlot) = shared.Durable;
        return new KvDatabase(path, storage, options, meta, Math.Min(durableTxn, meta.TxnId), durableSlot, shared, joined: true);
    }

    private static unsafe ReaderTable SharedReaders(SharedState shared, KvOptions options, Func<Snapshot> current)
    {
        var table = new ReaderTable(shared.Slots, shared.HighWater, shared.SlotCount, options.LeakedReaderGracePeriod,
            options.TrackTransactions, shared.ClaimOpener(), shared)
        {
            Locks = new SnapshotLocks(shared, shared.SlotCount, current),
        };
        table.ReclaimDead(atOpen: true); // at open, including a gone opener's slots under the index this one reuses (L7)
        return table;
    }

    /// <summary>A commit of another process reaches pages past this process's view of the file.</summary>
    private void CoverPages(long pageCount) => Storage.Cover(pageCount * PageSize);

    /// <summary>Frees the reader slots of processes that died (L7). A private table has none.</summary>
    private void ReclaimDeadReaders() => _readers.ReclaimDead();

    /// <summary>The oldest snapshot any reader holds, for a writer about to grow the file: dead processes' slots go first.</summary>
    private long OldestReaderForSpace()
    {
        ReclaimDeadReaders();
        return OldestReader();
    }

    /// <summary>Snapshot locks found by <see cref="OldestReader"/>, kept so that a write transaction allocates nothing.</summary>
    private readonly List<long> _lockedMaps = [];

    /// <summary>
    /// Reuse rule R1's bound: no reader of this or any other opener uses a snapshot older than this. A private table
    /// says so itself; a shared one's slots can be written by any opener, so the bound comes from this opener's own
    /// pins and the snapshot locks of the others (invariant L8).
    /// </summary>
    private long OldestReader()
    {
        if (_readers.Locks is not { } locks) return _readers.OldestSnapshot();
        locks.DropStale(); // this opener's own stale lock would count as another's on Windows (ILockFile.FindLockedByOthers)
        long oldest = locks.OwnOldest();
        var ctx = ContextAt(_publisher.LatestMetaForWriter.PageCount);
        var maps = _lockedMaps; // the writer's alone: this runs under the writer lock
        maps.Clear();
        if (!locks.FindOthers(ctx.PageCount, maps)) return 0; // more locks than readers take: assume every state is read
        foreach (long map in maps)
            if (MapWrittenBy(ctx, map) is long txn) oldest = Math.Min(oldest, txn);
        return oldest;
    }

    /// <summary>
    /// The txn that wrote the free-map directory at <paramref name="map"/> (at most the txn of any snapshot whose map it
    /// is), or null when no directory is there: another program's lock, which names no snapshot.
    /// </summary>
    private static unsafe long? MapWrittenBy(PageContext ctx, long map)
    {
        if (map < MetaPage.Count || map >= ctx.PageCount) return null;
        byte* p = ctx.Page(map);
        return PageHeader.Kind(p) == PageKind.FreeMapDirectory && PageHeader.PageId(p) == map ? PageHeader.TxnId(p) : null;
    }

    /// <summary>
    /// Takeover step 2 (docs/durability.md §14.3): keeps out of the pool every page that a snapshot older than
    /// <paramref name="meta"/> may reach, for each snapshot a reader of this opener pins or another opener holds a
    /// snapshot lock on. The snapshot's map is intact, since its reader protects it. A locked page that holds no
    /// valid directory names no snapshot (no reader's map is ever damaged); too many locks keep everything.
    /// </summary>
    private void KeepWhatReadersReach(PageAllocator allocator, in MetaRecord meta)
    {
        var locks = _readers.Locks!;
        var maps = new List<long>();
        foreach (var (txn, map) in locks.OwnSnapshots())
            if (txn < meta.TxnId && map != 0) maps.Add(map);
        if (!locks.FindOthers(meta.PageCount, maps))
        {
            allocator.KeepFromPool(static _ => true, meta.TxnId);
            return;
        }
        var ctx = ContextAt(meta.PageCount);
        long bitsPer = FreeMap.BitsPerPage(PageSize);
        foreach (long map in maps.Distinct())
        {
            if (map == meta.FreeMapPage || MapWrittenBy(ctx, map) is not long written || written >= meta.TxnId) continue;
            FreeMapDirectory directory;
            var freeThen = new FreePageSet();
            try
            {
                directory = FreeMap.ReadSnapshotDirectory(ctx, map);
                FreeMap.ReadFree(ctx, directory, freeThen.AddRun);
            }
            catch (CorruptDatabaseException) { continue; }
            long covered = directory.Bitmaps.Length * bitsPer; // at least the snapshot's page count (pages past it were never in it)
            allocator.KeepFromPool(id => id < covered && !freeThen.Contains(id), meta.TxnId);
        }
    }

    /// <summary>
    /// Under both writer locks, before a write transaction starts: if another process committed since this
    /// process's writer last held the lock, takes its state over (docs/durability.md §14.3):
    /// <list type="number">
    /// <item>the newest commit is made durable if it is not (ordered: every page, then its meta record);</item>
    /// <item>the free space is loaded from its free map, and every page a reader's snapshot (of any process) may
    /// still reach is kept out of the pool until those readers end (R1);</item>
    /// <item>the commit pipeline and the publisher start from it.</item>
    /// </list>
    /// </summary>
    private void TakeOverIfAnotherProcessWrote()
    {
        var shared = _shared!;
        if (shared.LatestTxn == _allocatorTxn) return;
        var meta = shared.ReadLatest();
        Storage.Cover(meta.PageCount * PageSize);
        int slot = Pipeline.MakeDurableFromLockFile(meta);
        Pipeline.Adopt(meta.TxnId, slot);
        _publisher.AdoptForWriter(meta);
        var allocator = _allocator!;
        allocator.Reset(ContextAt(meta.PageCount), meta.FreeMapPage, meta.FreeMapPages);
        ReclaimDeadReaders();
        KeepWhatReadersReach(allocator, meta);
        _allocatorTxn = meta.TxnId;
    }

    /// <summary>Under both writer locks, as a write transaction ends: the allocator now describes the newest commit.</summary>
    private void EndSharedWrite()
    {
        _allocatorTxn = _shared!.LatestTxn;
        _shared.ReleaseWriter();
    }

    /// <summary>
    /// <see cref="Flush"/>'s part for commits of other processes: if the newest commit is another process's and
    /// not durable (it is Deferred, or its process died), it is made durable here when the writer lock is free at
    /// once; if another writer holds it, that writer takes the commit over and makes it durable itself.
    /// </summary>
    private void FlushOtherProcessesCommits()
    {
        var shared = _shared!;
        AddReference(); // the lock file's map lives while the database has references
        try
        {
            if (shared.Durable.TxnId >= shared.LatestTxn || !_writerLock.Wait(0)) return;
            try
            {
                if (!shared.TryTakeWriter(TimeSpan.Zero)) return;
                try
                {
                    var meta = shared.ReadLatest();
                    Storage.Cover(meta.PageCount * PageSize);
                    Pipeline.MakeDurableFromLockFile(meta);
                }
                finally { shared.ReleaseWriter(); }
            }
            finally { _writerLock.Release(); }
        }
        finally { ReleaseReference(); }
    }


    /// <summary>
    /// The sole opener found a newer commit in the lock file than in the file (a process of this boot died with
    /// Deferred commits in the page cache): it is written, ordered, into the slot that does not hold the chosen
    /// meta, and becomes the opened state.
    /// </summary>
    private static MetaSelection MakeInheritedDurable(IStorage storage, MetaSelection chosen, in MetaRecord inherited)
    {
        int slot = 1 - chosen.Slot;
        storage.SyncData();
        MetaSlots.Write(storage, slot, inherited);
        storage.Sync();
        return new MetaSelection(inherited, slot, RefusedNewer: false);
    }
}
