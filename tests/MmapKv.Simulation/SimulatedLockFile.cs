using System.Runtime.InteropServices;
using MmapKv.Storage;

namespace MmapKv.Simulation;

/// <summary>
/// The lock file as the crash simulation sees it (docs/format.md §12): memory shared by every opener of one
/// simulated database, and byte locks that conflict between openers exactly as OFD locks do (each
/// <see cref="Open"/> is one holder). Its content is not durable: a power cut takes it, as it takes the page cache,
/// so recovery after a crash opens the database without it. Single-threaded, like the simulation: a blocking
/// <see cref="Lock"/> that would wait is a bug in the workload, and throws.
/// </summary>
internal sealed unsafe class SimulatedLockRegion : IDisposable
{
    internal byte* Memory;
    internal long Length;
    internal readonly Dictionary<long, Dictionary<SimulatedLockFile, bool>> Holders = new();

    /// <summary>A new holder of the lock file (one opener).</summary>
    internal ILockFile Open() => new SimulatedLockFile(this);

    internal void Resize(long length)
    {
        var bigger = (byte*)NativeMemory.AllocZeroed((nuint)Math.Max(length, 1));
        if (Memory != null)
        {
            Buffer.MemoryCopy(Memory, bigger, length, Math.Min(length, Length));
            // The old block stays allocated: an opener may still hold its address (never, with the engine's
            // protocol: only the sole opener resizes, before anyone else maps).
        }
        Memory = bigger;
        Length = length;
    }

    public void Dispose() { } // blocks are left to the process: readers of a crashed run may still point there
}

/// <summary>One opener's handle on a <see cref="SimulatedLockRegion"/>.</summary>
internal sealed unsafe class SimulatedLockFile : ILockFile
{
    private readonly SimulatedLockRegion _region;
    private bool _mapped;

    internal SimulatedLockFile(SimulatedLockRegion region) => _region = region;

    public string Path => "sim-lock";
    public byte* Base => _mapped ? _region.Memory : null;
    public long Length => _mapped ? _region.Length : 0;
    public long FileLength => _region.Length;
    public bool ConvertsAtomically => true;

    public void Resize(long length)
    {
        _region.Resize(length);
        _mapped = true;
    }

    public void MapExisting(long minimumLength)
    {
        if (_region.Length < minimumLength) throw new InvalidDataException($"sim-lock is {_region.Length} bytes, shorter than {minimumLength}");
        _mapped = true;
    }

    public bool TryLock(long offset, bool exclusive)
    {
        if (!_region.Holders.TryGetValue(offset, out var holders)) _region.Holders[offset] = holders = new();
        foreach (var (other, otherExclusive) in holders)
            if (other != this && (exclusive || otherExclusive)) return false;
        holders[this] = exclusive;
        return true;
    }

    public void Lock(long offset, bool exclusive)
    {
        if (!TryLock(offset, exclusive))
            throw new InvalidOperationException($"the simulated workload would wait forever for lock byte {offset}");
    }

    public void Unlock(long offset)
    {
        if (_region.Holders.TryGetValue(offset, out var holders)) holders.Remove(this);
    }

    public bool? HeldMode(long offset) =>
        _region.Holders.TryGetValue(offset, out var holders) && holders.TryGetValue(this, out bool exclusive) ? exclusive : null;

    public bool FindLockedByOthers(long offset, long length, List<long> into, int limit)
    {
        foreach (var (at, holders) in _region.Holders)
        {
            if (at < offset || at >= offset + length || !holders.Keys.Any(h => h != this)) continue;
            if (into.Count >= limit) return false;
            into.Add(at);
        }
        return true;
    }

    public void Dispose()
    {
        foreach (var holders in _region.Holders.Values) holders.Remove(this);
        _mapped = false;
    }
}
