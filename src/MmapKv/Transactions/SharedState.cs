using System.Runtime.CompilerServices;
using MmapKv.Format;
using MmapKv.Storage;
using static MmapKv.Format.LockFileLayout;

namespace MmapKv.Transactions;

/// <summary>
/// What the processes sharing one database agree on, in its lock file (docs/format.md §12): the newest published
/// commit, the durable commit and the meta slot holding it, the reader table, and the OS locks for the one writer
/// and the one flush. Created at open by <see cref="Open(string, int, bool, int)"/>, which rebuilds the file when no other process has
/// the database open.
/// </summary>
/// <remarks>
/// Publication (invariant L6): a commit's meta record is written into the copy for its txn parity, then the
/// latest-txn word is set. A reader reads the word, copies the record, and accepts it only if its checksum holds
/// and it names that txn; otherwise a newer commit is being written over it and the reader reads the word again.
/// A writer killed while writing a copy leaves the word at the previous commit, whose copy is the other one.
/// </remarks>
internal sealed unsafe class SharedState : IDisposable, IOpenerLiveness, ISnapshotLockFile
{
    private readonly ILockFile _file;
    private readonly string _path;

    private SharedState(ILockFile file, string path, bool rebuilt)
    {
        _file = file;
        _path = path;
        Rebuilt = rebuilt;
    }

    /// <summary>This open rebuilt the lock file: no other process had the database open.</summary>
    public bool Rebuilt { get; }

    /// <summary>What a rebuilt file held before, when it belongs to this boot: the newest commit published in it.
    /// Null otherwise (a new file, another boot, or damage).</summary>
    public MetaRecord? Inherited { get; private set; }

    /// <summary>Reader slots in the table (fixed by the process that built the file).</summary>
    public int SlotCount => (int)Unsafe.ReadUnaligned<uint>(_file.Base + SlotCountOffset);

    /// <summary>The reader slots, in the map.</summary>
    public long* Slots => (long*)(_file.Base + HeaderSize);

    /// <summary>The reader table's high-water word.</summary>
    public long* HighWater => (long*)(_file.Base + HighWaterOffset);

    private ref long LatestWord => ref *(long*)(_file.Base + LatestTxnOffset);
    private ref long DurableWord => ref *(long*)(_file.Base + DurableOffset);

    /// <summary>The newest commit published by any process.</summary>
    public long LatestTxn => Volatile.Read(ref LatestWord);

    /// <summary>The newest commit known durable by any process, and the meta slot that holds it (read under the flush lock).</summary>
    public (long TxnId, int Slot) Durable
    {
        get
        {
            long v = Volatile.Read(ref DurableWord);
            return (v >> 1, (int)(v & 1));
        }
    }

    private ref long FlushedWord => ref *(long*)(_file.Base + FlushedOffset);

    /// <summary>The newest meta record a flush of any process has taken (durable, or being written).</summary>
    public long FlushedTxn => Volatile.Read(ref FlushedWord);

    /// <summary>A flush is about to write the record of <paramref name="txnId"/>. Under the flush lock, before the write.</summary>
    public void NoteFlushed(long txnId)
    {
        if (txnId > FlushedTxn) Volatile.Write(ref FlushedWord, txnId);
    }

    /// <summary>Records a flush: <paramref name="txnId"/> is durable in <paramref name="slot"/>. Under the flush lock.</summary>
    public void SetDurable(long txnId, int slot) => Volatile.Write(ref DurableWord, txnId * 2 + slot);

    /// <summary>Makes <paramref name="meta"/> the newest commit for every process. Under the writer lock.</summary>
    public void Publish(in MetaRecord meta)
    {
        byte* copy = _file.Base + MetaCopyOffset + (meta.TxnId & 1) * MetaCopySize;
        MetaPage.Write(copy, meta);
        Volatile.Write(ref LatestWord, meta.TxnId);
    }

    /// <summary>
    /// The record of the newest published commit, or false if it is being overwritten right now (read
    /// <see cref="LatestTxn"/> again and retry).
    /// </summary>
    public bool TryReadLatest(out MetaRecord meta)
    {
        long txn = LatestTxn;
        byte* copy = _file.Base + MetaCopyOffset + (txn & 1) * MetaCopySize;
        byte* local = stackalloc byte[MetaPage.Size];
        Buffer.MemoryCopy(copy, local, MetaPage.Size, MetaPage.Size);
        var record = MetaPage.TryRead(local, long.MaxValue, out _, out _);
        if (record is { } r && r.TxnId == txn && LatestTxn == txn)
        {
            meta = r;
            return true;
        }
        meta = default;
        return false;
    }

    /// <summary>The newest published commit; spins while a writer rewrites its copy (a few hundred bytes).</summary>
    public MetaRecord ReadLatest()
    {
        var spin = new SpinWait();
        for (int n = 0; ; n++)
        {
            if (TryReadLatest(out var meta)) return meta;
            if (n > 1_000_000) Corrupt.Throw($"the lock file {_path} names commit {LatestTxn}, whose record in it is damaged; close every process using the database and open it again to rebuild the lock file");
            spin.SpinOnce();
        }
    }

    /// <summary>This open's opener index (docs/format.md §12.3), or -1 before <see cref="ClaimOpener"/>.</summary>
    public int Opener { get; private set; } = -1;

    /// <summary>
    /// Takes the first free opener lock and keeps it while the database is open: this open's reader slots name it,
    /// and other openers know this one has gone when they can take it (L7).
    /// </summary>
    /// <exception cref="MmapKvException">All <see cref="MaxOpeners"/> opener locks are held.</exception>
    public int ClaimOpener()
    {
        for (int i = 0; i < MaxOpeners; i++)
            if (_file.TryLock(OpenerLockBase + i, exclusive: true)) return Opener = i;
        throw new MmapKvException($"{_path}: {MaxOpeners} openers have the database open; no more can join.");
    }

    bool IOpenerLiveness.TryHoldGone(int index) => index != Opener && index is >= 0 and < MaxOpeners && _file.TryLock(OpenerLockBase + index, exclusive: true);

    void IOpenerLiveness.Release(int index) => _file.Unlock(OpenerLockBase + index);

    bool ISnapshotLockFile.TryLockSnapshot(long mapPage) => _file.TryLock(SnapshotLockBase + mapPage, exclusive: false);

    void ISnapshotLockFile.UnlockSnapshot(long mapPage) => _file.Unlock(SnapshotLockBase + mapPage);

    bool ISnapshotLockFile.FindOthersSnapshots(long pageCount, List<long> mapPages, int limit)
    {
        int first = mapPages.Count;
        bool complete = _file.FindLockedByOthers(SnapshotLockBase, Math.Min(pageCount, MaxSnapshotLockPages), mapPages, first + limit);
        for (int i = first; i < mapPages.Count; i++) mapPages[i] -= SnapshotLockBase;
        return complete;
    }

    string ISnapshotLockFile.Path => _file.Path;

    /// <summary>Takes the writer lock, waiting at most <paramref name="timeout"/>; false on timeout.</summary>
    public bool TryTakeWriter(TimeSpan timeout)
    {
        if (_file.TryLock(WriterLock, exclusive: true)) return true;
        if (timeout == TimeSpan.Zero) return false;
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        int sleep = 1;
        while (true)
        {
            // Polling keeps timeouts and cancellation simple; the kernel lock is what serializes, not the loop.
            Thread.Sleep(sleep);
            if (_file.TryLock(WriterLock, exclusive: true)) return true;
            if (Environment.TickCount64 >= deadline) return false;
            sleep = Math.Min(sleep * 2, 10);
        }
    }

    public void ReleaseWriter() => _file.Unlock(WriterLock);

    /// <summary>Takes the flush lock (flushes are short: waits without a timeout).</summary>
    public void TakeFlush() => _file.Lock(FlushLock, exclusive: true);

    public void ReleaseFlush() => _file.Unlock(FlushLock);

    /// <summary>
    /// Opens (or creates) the lock file of the database at <paramref name="databasePath"/> and joins it. If no other
    /// process has the database open, this process is its sole opener: <see cref="Rebuilt"/> is true, the open lock
    /// is held exclusively, and the caller finishes its open (recovery included) and then calls <see cref="Build"/>,
    /// which sizes the file, frees every slot, publishes the opened commit and lets other openers in. Otherwise the
    /// call waits while a sole opener builds, and joins the file as it is.
    /// </summary>
    /// <exception cref="CorruptDatabaseException">The lock file is damaged while other processes hold it, or was
    /// built for another page size.</exception>
    public static SharedState Open(string databasePath, int createMode, bool readOnly, int pageSize) =>
        Open(LockFile.Open(LockFile.PathFor(databasePath), databasePath, createMode, readOnly), pageSize);

    /// <summary>Joins an opened lock file (the OS one, or a simulated one in tests); see the overload above.</summary>
    internal static SharedState Open(ILockFile file, int pageSize)
    {
        string path = file.Path;
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                if (file.TryLock(OpenLock, exclusive: true))
                {
                    var state = new SharedState(file, path, rebuilt: true);
                    state.Inherited = state.ReadInherited(BootIdentity.BootId, pageSize);
                    // From here until Build the file is invalid, so an opener that finds it so (this open failed
                    // halfway) retries to become the sole opener rather than join stale content.
                    if (file.Length >= HeaderSize) Volatile.Write(ref *(ulong*)(file.Base + MagicOffset), 0);
                    return state;
                }
                file.Lock(OpenLock, exclusive: false); // waits while a sole opener builds
                // A file too short for its header, or without the magic, was left by a sole opener that failed
                // before building (try to become the sole opener), or was damaged under a live holder (after the
                // retries: refused, never rebuilt under that holder).
                long length = file.FileLength;
                if (length >= HeaderSize)
                {
                    file.MapExisting(HeaderSize); // replaces the map of an earlier attempt
                    var joined = new SharedState(file, path, rebuilt: false);
                    if (Unsafe.ReadUnaligned<ulong>(file.Base + MagicOffset) == Magic || attempt >= 50)
                    {
                        joined.Validate(pageSize);
                        return joined;
                    }
                }
                else if (attempt >= 50)
                {
                    Corrupt.Throw($"the lock file {path} is damaged (it is {length} bytes long, shorter than its {HeaderSize}-byte header) while another process holds it; {CloseEveryProcess}");
                }
                file.Unlock(OpenLock); // a sole opener failed before building: try to become it
                Thread.Sleep(10);
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The durable commit the file recorded, for an inherited record: it is adopted only if the database's durable
    /// commit is still that one, so nothing wrote the database since (an exclusive open, a restored copy).
    /// </summary>
    public (long TxnId, int Slot)? InheritedDurable { get; private set; }

    /// <summary>
    /// The sole opener's last step: rebuilds the file for <paramref name="slots"/> readers with <paramref name="latest"/>
    /// as the newest commit and <paramref name="durable"/> (in <paramref name="durableSlot"/>) as the durable one,
    /// then lets other openers join.
    /// </summary>
    public void Build(int slots, in MetaRecord latest, in MetaRecord durable, int durableSlot)
    {
        if (!Rebuilt) throw new InvalidOperationException("Only the sole opener builds the lock file.");
        _file.Resize(FileLength(slots));
        byte* b = _file.Base;
        new Span<byte>(b, HeaderSize).Clear();
        new Span<byte>(b + HeaderSize, slots * SlotSize).Clear();
        Unsafe.WriteUnaligned(b + VersionOffset, FileVersion);
        Unsafe.WriteUnaligned(b + SlotCountOffset, (uint)slots);
        Unsafe.WriteUnaligned(b + PageSizeOffset, (uint)latest.PageSize);
        Unsafe.WriteUnaligned(b + SlotSizeOffset, (uint)SlotSize);
        if (BootIdentity.BootId is { } boot) BootBytes(boot).CopyTo(new Span<byte>(b + BootIdOffset, 16));
        SetDurable(durable.TxnId, durableSlot);
        NoteFlushed(durable.TxnId);
        Publish(latest);
        Volatile.Write(ref *(ulong*)(b + MagicOffset), Magic); // last: a file built halfway is rebuilt by the next opener
        _file.Lock(OpenLock, exclusive: false); // down to shared: other openers may join now
    }

    /// <summary>
    /// At close: whether this is the last process with the database open (then it may shrink the file). Takes the
    /// open lock exclusively if it can; the lock goes with the file at <see cref="Dispose"/> either way.
    /// </summary>
    public bool TryBecomeSole() => _file.TryLock(OpenLock, exclusive: true);

    /// <summary>Drops this process's locks at close, while the map stays for transactions still open (their
    /// reader slots stay readable; the database refuses their next use).</summary>
    public void ReleaseLocks()
    {
        _file.Unlock(WriterLock);
        _file.Unlock(FlushLock);
        if (Opener >= 0) _file.Unlock(OpenerLockBase + Opener);
        _file.Unlock(OpenLock);
    }

    private MetaRecord? ReadInherited(string? boot, int pageSize)
    {
        if (boot is null || _file.FileLength < HeaderSize) return null;
        try { _file.MapExisting(HeaderSize); }
        catch (Exception e) when (e is IOException or InvalidDataException) { return null; }
        byte* b = _file.Base;
        if (Unsafe.ReadUnaligned<ulong>(b + MagicOffset) != Magic || Unsafe.ReadUnaligned<uint>(b + VersionOffset) != FileVersion) return null;
        if (Unsafe.ReadUnaligned<uint>(b + PageSizeOffset) != (uint)pageSize) return null;
        if (!new ReadOnlySpan<byte>(b + BootIdOffset, 16).SequenceEqual(BootBytes(boot))) return null;
        if (!TryReadLatest(out var meta)) return null;
        InheritedDurable = Durable;
        return meta;
    }

    private void Validate(int pageSize)
    {
        byte* b = _file.Base;
        string? problem =
            Unsafe.ReadUnaligned<ulong>(b + MagicOffset) != Magic ? "it does not start with the lock-file magic" :
            Unsafe.ReadUnaligned<uint>(b + VersionOffset) != FileVersion ? $"it has version {Unsafe.ReadUnaligned<uint>(b + VersionOffset)}, this code reads {FileVersion}" :
            Unsafe.ReadUnaligned<uint>(b + SlotSizeOffset) != SlotSize ? "its reader slot size is wrong" :
            Unsafe.ReadUnaligned<uint>(b + PageSizeOffset) != (uint)pageSize ? $"it was built for page size {Unsafe.ReadUnaligned<uint>(b + PageSizeOffset)}, the database has {pageSize}" :
            SlotCount <= ReaderTable.InternalSlots || FileLength(SlotCount) > _file.Length ? $"it names {SlotCount} reader slots but is {_file.Length} bytes long" :
            null;
        if (problem is not null)
            Corrupt.Throw($"the lock file {_path} is damaged ({problem}) while another process holds it; {CloseEveryProcess}");
    }

    private const string CloseEveryProcess = "close every process using the database, then open it again to rebuild the lock file";

    /// <summary>The 16 bytes recorded for a boot id (its UTF-8 hash, so any id format fits).</summary>
    private static byte[] BootBytes(string boot) => System.IO.Hashing.XxHash128.Hash(System.Text.Encoding.UTF8.GetBytes(boot));

    public void Dispose() => _file.Dispose(); // the kernel drops this description's locks with it
}
