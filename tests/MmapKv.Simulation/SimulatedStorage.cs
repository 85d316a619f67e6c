using System.Runtime.InteropServices;
using MmapKv.Storage;

namespace MmapKv.Simulation;

/// <summary>Thrown by <see cref="SimulatedStorage"/> at the planned crash point. Nothing after it runs.</summary>
public sealed class SimulatedCrashException : Exception
{
    public SimulatedCrashException(long syncPoint, string operation)
        : base($"simulated crash at sync point {syncPoint} ({operation})") { }
}

/// <summary>Which storage calls fail, and how (EIO, ENOSPC).</summary>
public sealed class FaultPlan
{
    /// <summary>Crash at this sync point (1-based); 0 never.</summary>
    public long CrashAt { get; set; }
    /// <summary>Chance, at every sync point, that the OS writes back a random subset of dirty sectors.</summary>
    public double WritebackProbability { get; set; } = 0.3;
    /// <summary>Fail the msync or fdatasync at this flush call (1-based; both count, they are the device flushes)
    /// with EIO; 0 never.</summary>
    public long FailFlushAt { get; set; }
    /// <summary>Fail the fsync at this sync call (1-based) with EIO; 0 never.</summary>
    public long FailSyncAt { get; set; }
    /// <summary>Fail file growth at this grow call (1-based) with ENOSPC; 0 never. With <see cref="NoSpaceStays"/>,
    /// every later growth fails too (the disk stays full), as a real full disk does until space is freed.</summary>
    public long NoSpaceAtGrow { get; set; }
    /// <summary>ENOSPC from <see cref="NoSpaceAtGrow"/> on, not only at that call.</summary>
    public bool NoSpaceStays { get; set; }
    /// <summary>Fail file growth at this grow call with EIO (the allocation's I/O failed); 0 never. The file is left
    /// at its old length, as <see cref="IStorage.Grow"/> promises.</summary>
    public long FailGrowAt { get; set; }
    /// <summary>A failed sync loses every dirty sector of its range (written off as clean, never written) instead of a random mix.</summary>
    public bool FailureLosesAll { get; set; }
}

/// <summary>How a crash is resolved into the image the next run sees.</summary>
public enum CrashKind
{
    /// <summary>The process dies; the OS and its page cache live on (a later power loss may still drop unsynced data).</summary>
    ProcessKill,
    /// <summary>The machine stops: each dirty 512-byte sector independently persists or is dropped.</summary>
    PowerLoss,
    /// <summary>As <see cref="PowerLoss"/>, and a dirty sector may also be left as garbage (a torn write).</summary>
    PowerLossWithGarbage,
}

/// <summary>
/// A storage backend that models a disk behind a page cache (docs/durability.md §10.1). It keeps a
/// live image (what the process sees through the map) and a durable image (what is on the platter), plus a live
/// and a durable file length. The engine writes through <see cref="Base"/> exactly as it does on a real map; the
/// dirty set is whatever differs between the two images, compared sector by sector.
/// </summary>
/// <remarks>
/// Modelled: spontaneous writeback of any dirty sector at any sync point; msync that makes only its range durable;
/// StartWriteback that writes any subset of its range's dirty sectors (or none) and promises nothing; fdatasync
/// and fsync of everything, and the length; growth that allocates but syncs nothing, its length made durable by the
/// next fdatasync or fsync, or at any sync point by the file system's own journal commit (while the length is not
/// durable, no sector past it reaches the disk); power loss at sector granularity (persist, drop or
/// garbage); process kill (page cache survives); injected EIO and ENOSPC, after which the affected sectors are in
/// a random state.
/// </remarks>
internal sealed unsafe class SimulatedStorage : IStorage
{
    public const int SectorSize = 512;

    private byte* _live;
    private byte* _durable;
    private long _liveLength;
    private long _durableLength;
    private readonly Random _rng;
    private bool _crashed;
    private long _flushCalls, _syncCalls, _growCalls;
    // Sectors a failed sync left "clean but unwritten": the kernel marked their pages clean after the I/O error,
    // so no later sync writes them until the process writes to them again. Value: their content at the failure.
    private readonly Dictionary<long, byte[]> _lost = new();

    /// <summary>Called at the start of every msync and fdatasync, before any effect (tests use it to interleave threads).</summary>
    public Action<long>? BeforeFlush { get; set; }

    public FaultPlan Plan { get; set; } = new();

    /// <summary>
    /// Bytes the simulated device holds (0: no limit). A growth past it fails with ENOSPC and leaves the file as it
    /// was, as <see cref="IStorage.Grow"/> promises (the real storage gives back a partial allocation).
    /// </summary>
    public long DeviceBytes { get; set; }

    /// <summary>Every growth request that reached the device: the length asked for, and whether it was granted.</summary>
    public List<(long Length, bool Granted)> GrowRequests { get; } = new();

    /// <summary>msync and fdatasync calls made so far (fault plans count flush calls from the storage's creation).</summary>
    public long FlushCalls => _flushCalls;

    /// <summary>Prefault calls (W8) so far.</summary>
    public long PrefaultCalls { get; private set; }

    /// <summary>fdatasync calls made so far: one per one-flush commit, two per ordered commit.</summary>
    public long SyncDataCalls => _syncDataCalls;
    /// <summary>StartWriteback calls made so far.</summary>
    public long WritebackCalls => _writebackCalls;
    private long _syncDataCalls, _writebackCalls;
    public long SyncCalls => _syncCalls;
    public long GrowCalls => _growCalls;

    /// <summary>Storage calls made so far: the points where a crash can be injected.</summary>
    public long SyncPoints { get; private set; }

    public SimulatedStorage(long capacity, int seed) : this(capacity, seed, default, default) { }

    /// <summary>A file whose page cache holds <paramref name="live"/> and whose disk holds <paramref name="durable"/>.</summary>
    private SimulatedStorage(long capacity, int seed, ReadOnlySpan<byte> live, ReadOnlySpan<byte> durable)
    {
        Capacity = capacity;
        _rng = new Random(seed);
        // Both images from the OS, zeroed on demand: a test's file takes only the pages it writes (ZeroedImage).
        _live = ZeroedImage.Allocate(capacity);
        _durable = ZeroedImage.Allocate(capacity);
        live.CopyTo(Live);
        durable.CopyTo(Durable);
        _liveLength = live.Length;
        _durableLength = durable.Length;
    }

    public byte* Base => _live;
    public long Capacity { get; }
    public long Length => _liveLength;
    public bool IsReadOnly => false;
    public bool Crashed => _crashed;

    private Span<byte> Live => new(_live, (int)Capacity);
    private Span<byte> Durable => new(_durable, (int)Capacity);

    private void SyncPoint(string operation)
    {
        if (_crashed) throw new SimulatedCrashException(SyncPoints, operation + " after the crash");
        SyncPoints++;
        if (_rng.NextDouble() < Plan.WritebackProbability)
        {
            // The file system commits its journal when it likes: a grown length may become durable at any time.
            if (LengthPending && _rng.Next(2) == 0) _durableLength = _liveLength;
            WriteBackRandomly(0, _liveLength, 0.5);
        }
        if (Plan.CrashAt == SyncPoints)
        {
            _crashed = true;
            // The call was under way: part of its effect may have happened. Whether a pending length got through
            // too is decided when the crash is resolved (AfterCrash).
            WriteBackRandomly(0, _liveLength, 0.5);
            throw new SimulatedCrashException(SyncPoints, operation);
        }
    }

    /// <summary>The OS writes some dirty sectors of a range back, each with probability <paramref name="p"/>.</summary>
    private void WriteBackRandomly(long from, long to, double p)
    {
        to = Math.Min(to, Math.Min(_liveLength, _durableLength));
        for (long s = from / SectorSize * SectorSize; s < to; s += SectorSize)
            if (IsDirty(s) && _rng.NextDouble() < p) Persist(s);
    }

    /// <summary>Dirty in the kernel's eyes: differs from the disk and was not written off as clean by a failed sync.</summary>
    private bool IsDirty(long sector) =>
        !Live.Slice((int)sector, SectorSize).SequenceEqual(Durable.Slice((int)sector, SectorSize)) && !IsLost(sector);

    /// <summary>The OS page size: the kernel tracks dirtiness per OS page, so one store re-dirties all of it.</summary>
    public const int OsPageSize = 4096;

    /// <summary>
    /// Whether the sector is still as a failed sync left it. A store anywhere in its OS page (seen as a changed
    /// lost sector of that page) makes the whole OS page dirty again, as the kernel's per-page dirty bit does.
    /// </summary>
    private bool IsLost(long sector)
    {
        if (_lost.Count == 0 || !_lost.ContainsKey(sector)) return false;
        long page = sector / OsPageSize * OsPageSize;
        bool stored = false;
        for (long s = page; s < page + OsPageSize; s += SectorSize)
            if (_lost.TryGetValue(s, out var content) && !Live.Slice((int)s, SectorSize).SequenceEqual(content)) stored = true;
        if (!stored) return true;
        for (long s = page; s < page + OsPageSize; s += SectorSize) _lost.Remove(s);
        return false;
    }

    private void Persist(long sector) => Live.Slice((int)sector, SectorSize).CopyTo(Durable.Slice((int)sector, SectorSize));

    /// <summary>A sync failed over a range: each dirty sector is written, left dirty, or lost (clean but unwritten).</summary>
    private void FailRange(long from, long to)
    {
        to = Math.Min(to, _liveLength);
        for (long s = from / SectorSize * SectorSize; s < to; s += SectorSize)
        {
            if (!IsDirty(s)) continue;
            switch (Plan.FailureLosesAll ? 1 : _rng.Next(3))
            {
                case 0: Persist(s); break;
                case 1: _lost[s] = Live.Slice((int)s, SectorSize).ToArray(); break;
            }
        }
    }

    public void Grow(long newLength)
    {
        SyncPoint("grow");
        long call = ++_growCalls;
        if (newLength <= _liveLength) return;
        if (newLength > Capacity) throw new DatabaseFullException($"simulated capacity {Capacity} reached");
        if (Plan.NoSpaceAtGrow == call || (Plan.NoSpaceStays && Plan.NoSpaceAtGrow != 0 && call >= Plan.NoSpaceAtGrow))
            throw new DatabaseFullException("simulated ENOSPC from posix_fallocate");
        bool fits = DeviceBytes == 0 || newLength <= DeviceBytes;
        GrowRequests.Add((newLength, fits));
        if (!fits) throw new DatabaseFullException($"simulated ENOSPC: the device holds {DeviceBytes} bytes");
        if (Plan.FailGrowAt == call) throw new StorageFailedException("simulated EIO from posix_fallocate", 5);
        // The new range reads as zeros, in the cache and on disk (fallocate allocates zeroed blocks). No sync: the
        // length on disk stays old until a sync or a journal commit (SyncPoint) makes it durable.
        Live.Slice((int)_liveLength, (int)(newLength - _liveLength)).Clear();
        Durable.Slice((int)_durableLength, (int)(newLength - _durableLength)).Clear();
        _liveLength = newLength;
    }

    public void VerifyLength() { }

    /// <summary>A store through the map: the sectors it touches are dirty again, even if the bytes are unchanged.</summary>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (_crashed) throw new SimulatedCrashException(SyncPoints, "write after the crash");
        data.CopyTo(Live.Slice((int)offset, data.Length));
        long end = (offset + data.Length + OsPageSize - 1) / OsPageSize * OsPageSize;
        for (long s = offset / OsPageSize * OsPageSize; s < end; s += SectorSize) _lost.Remove(s);
    }

    public void Shrink(long newLength)
    {
        SyncPoint("shrink");
        if (newLength >= _liveLength) return;
        Live.Slice((int)newLength, (int)(_liveLength - newLength)).Clear();
        _liveLength = newLength;
        Persist(0, _liveLength);
        _durableLength = newLength;
    }

    public void Flush(long offset, long length)
    {
        BeforeFlush?.Invoke(_flushCalls + 1);
        SyncPoint("msync");
        long call = ++_flushCalls;
        long end = Math.Min(offset + length, _liveLength);
        if (Plan.FailFlushAt == call)
        {
            FailRange(offset, end); // unknown outcome: some of the range made it, some may be lost
            throw new StorageFailedException("simulated EIO from msync", 5);
        }
        Persist(offset, end);
        _durableLength = _liveLength; // on Linux msync(MS_SYNC) is the file system's fdatasync of the range: the size too
    }

    /// <summary>
    /// Prefault changes no byte, so there is nothing to model but its contract (W8): the range lies inside the file.
    /// A call outside it fails the run.
    /// </summary>
    public void Prefault(long offset, long length)
    {
        if (offset < 0 || length <= 0 || offset + length > _liveLength)
            throw new InvalidOperationException($"Prefault of [{offset}, {offset + length}) outside the file's {_liveLength} bytes");
        PrefaultCalls++;
    }

    /// <summary>
    /// StartWriteback, as any platform may do it (nothing on Linux, msync on macOS, FlushViewOfFile on Windows): by
    /// the next sync point any subset of the range's dirty sectors may be on disk, all or none. Nothing is promised,
    /// so a crash right after it (the next sync point) sees the meta and the pages written back independently.
    /// </summary>
    public void StartWriteback(long offset, long length)
    {
        SyncPoint("StartWriteback");
        _writebackCalls++;
        double p = _rng.Next(3) switch { 0 => 0, 1 => 1, _ => 0.5 };
        WriteBackRandomly(offset, offset + length, p);
    }

    /// <summary>fdatasync: every dirty sector and the live length become durable (one device flush).</summary>
    public void SyncData()
    {
        BeforeFlush?.Invoke(_flushCalls + 1);
        SyncPoint("fdatasync");
        long call = ++_flushCalls;
        _syncDataCalls++;
        if (Plan.FailFlushAt == call)
        {
            FailRange(0, _liveLength); // unknown outcome: some sectors made it, some may be lost
            if (_rng.Next(2) == 0) _durableLength = _liveLength;
            throw new StorageFailedException("simulated EIO from fdatasync", 5);
        }
        Persist(0, _liveLength);
        _durableLength = _liveLength;
    }

    public void Sync()
    {
        SyncPoint("fsync");
        long call = ++_syncCalls;
        if (Plan.FailSyncAt == call)
        {
            FailRange(0, _liveLength);
            throw new StorageFailedException("simulated EIO from fsync", 5);
        }
        Persist(0, _liveLength);
        _durableLength = _liveLength;
    }

    private void Persist(long from, long to)
    {
        to = Math.Min(to, _liveLength);
        if (to <= from) return;
        if (_lost.Count == 0)
        {
            Live.Slice((int)from, (int)(to - from)).CopyTo(Durable.Slice((int)from, (int)(to - from)));
            return;
        }
        for (long s = from / SectorSize * SectorSize; s < to; s += SectorSize)
            if (!IsLost(s)) Persist(s);
    }

    /// <summary>
    /// Sectors that differ between the live and the durable image, in order; those at or past
    /// <see cref="DurableLength"/> reach the disk only if the pending length does.
    /// </summary>
    public List<long> DirtySectors()
    {
        var dirty = new List<long>();
        for (long s = 0; s < _liveLength; s += SectorSize) if (IsDirty(s)) dirty.Add(s);
        return dirty;
    }

    /// <summary>The file length on disk: what a power loss now would leave (unless a pending length gets through).</summary>
    public long DurableLength => _durableLength;

    /// <summary>Whether the file is longer than its durable length (a growth no sync has made durable yet).</summary>
    public bool LengthPending => _durableLength < _liveLength;

    /// <summary>
    /// The storage the next run of the program sees after a crash of <paramref name="kind"/>. For power loss,
    /// <paramref name="persist"/> decides per dirty sector (by index into <see cref="DirtySectors"/>) whether it
    /// reached the disk; null means random. <paramref name="lengthReached"/> decides whether a pending grown length
    /// reached the disk (the file system's journal commit was under way; null: random); if it did not, no sector past
    /// the old length counts, and if it did, the part of the new range no sector reached reads as zeros. The
    /// returned storage has a fresh fault plan.
    /// </summary>
    public SimulatedStorage AfterCrash(CrashKind kind, int seed, Func<int, bool>? persist = null, bool? lengthReached = null)
    {
        var live = Live.Slice(0, (int)_liveLength).ToArray();
        if (kind == CrashKind.ProcessKill)
        {
            // The kernel lives on: its page cache, and which pages it believes clean.
            var next = new SimulatedStorage(Capacity, seed, live, Durable.Slice(0, (int)_durableLength));
            foreach (var (sector, content) in _lost) next._lost[sector] = content;
            return next;
        }
        // The disk as it is, up to the longest length a crash can leave (past the durable length it reads as zeros).
        var disk = Durable.Slice(0, (int)Math.Max(_liveLength, _durableLength)).ToArray();
        var rng = new Random(seed);
        long length = LengthPending && (lengthReached ?? rng.Next(2) == 0) ? _liveLength : _durableLength;
        var dirty = DirtySectors();
        for (int i = 0; i < dirty.Count; i++)
        {
            long s = dirty[i];
            bool keep = persist?.Invoke(i) ?? rng.Next(2) == 0;
            if (s >= length) continue;
            if (kind == CrashKind.PowerLossWithGarbage && rng.Next(8) == 0) rng.NextBytes(disk.AsSpan((int)s, SectorSize));
            else if (keep) live.AsSpan((int)s, SectorSize).CopyTo(disk.AsSpan((int)s, SectorSize));
        }
        return new SimulatedStorage(Capacity, seed, disk.AsSpan(0, (int)length), disk.AsSpan(0, (int)length));
    }

    /// <summary>A copy with the same live and durable state (for trying several futures from one point).</summary>
    public SimulatedStorage Clone(int seed) => AfterCrash(CrashKind.ProcessKill, seed);

    /// <summary>Flips bits or writes garbage into the durable and live images alike (media corruption).</summary>
    public void CorruptMedia(long offset, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Live.Slice((int)offset, bytes.Length));
        bytes.CopyTo(Durable.Slice((int)offset, bytes.Length));
    }

    /// <summary>The simulated file has no descriptor or lock to release.</summary>
    public void CloseFile() { }

    /// <summary>The database closing its storage leaves the images in place, so a test can reopen them.</summary>
    public void Dispose() { }

    /// <summary>Frees both images. The storage must not be used afterwards.</summary>
    public void Release()
    {
        if (_live != null)
        {
            ZeroedImage.Free(_live, Capacity);
            _live = null;
        }
        if (_durable != null)
        {
            ZeroedImage.Free(_durable, Capacity);
            _durable = null;
        }
        GC.SuppressFinalize(this);
    }

    ~SimulatedStorage() => Release();
}
