using System.Runtime.InteropServices;
using static MmapKv.Storage.Libc.Constants;

namespace MmapKv.Storage;

/// <summary>
/// Native memory for <see cref="KvOptions.DebugSpans"/> (docs/durability.md §12.5): whole pages from the OS, outside
/// the GC heap, that can be made inaccessible so that a later read or write through a stale span faults at once.
/// A retired range keeps its address space reserved but returns its memory (Unix: <c>mprotect(PROT_NONE)</c> then
/// <c>madvise(MADV_DONTNEED)</c>; Windows: <c>MEM_DECOMMIT</c>), so no later allocation can land there while it is
/// quarantined. The quarantine is process-wide and bounded: the newest <see cref="MaxRetiredRanges"/> ranges, at
/// most <see cref="MaxRetiredBytes"/> of address space; beyond that the oldest range is released to the OS.
/// </summary>
internal static unsafe class GuardedMemory
{
    /// <summary>How many retired ranges stay inaccessible; each is one kernel mapping entry (Linux allows 65530 by default).</summary>
    public const int MaxRetiredRanges = 4096;

    /// <summary>How much retired address space (not memory: none is committed) stays reserved.</summary>
    public const long MaxRetiredBytes = 16L << 30;

    public static readonly int PageSize = Environment.SystemPageSize;

    private static readonly Queue<(nint Start, nuint Length)> Retired = new();
    private static long _retiredBytes;

    /// <summary>Readable and writable pages, <paramref name="length"/> bytes (a multiple of <see cref="PageSize"/>).</summary>
    /// <exception cref="InsufficientMemoryException">The OS refused.</exception>
    public static nint Allocate(nuint length)
    {
        nint p;
        if (OperatingSystem.IsWindows())
            p = (nint)Kernel32.VirtualAlloc(null, length, Kernel32.MEM_RESERVE | Kernel32.MEM_COMMIT, Kernel32.PAGE_READWRITE);
        else
        {
            p = Libc.Mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == -1) p = 0;
        }
        if (p == 0)
            throw new InsufficientMemoryException(
                $"KvOptions.DebugSpans could not get {length} bytes of guarded memory from the OS (error {Marshal.GetLastPInvokeError()}).");
        return p;
    }

    /// <summary>Makes the range inaccessible and returns its memory, keeping the addresses reserved (quarantined).</summary>
    public static void Retire(nint start, nuint length)
    {
        if (OperatingSystem.IsWindows()) Kernel32.VirtualFree((void*)start, length, Kernel32.MEM_DECOMMIT);
        else
        {
            // PROT_NONE first: from here on a stale span faults. Then drop the pages (a private anonymous mapping
            // reads back as zeros, but it is inaccessible anyway).
            if (Libc.Mprotect(start, length, PROT_NONE) != 0)
            {
                Libc.Munmap(start, length); // cannot guard it: at least do not leave stale data readable
                return;
            }
            Libc.Madvise(start, length, MADV_DONTNEED);
        }
        lock (Retired)
        {
            Retired.Enqueue((start, length));
            _retiredBytes += (long)length;
            while (Retired.Count > MaxRetiredRanges || _retiredBytes > MaxRetiredBytes)
            {
                var (s, l) = Retired.Dequeue();
                _retiredBytes -= (long)l;
                Release(s, l);
            }
        }
    }

    private static void Release(nint start, nuint length)
    {
        if (OperatingSystem.IsWindows()) Kernel32.VirtualFree((void*)start, 0, Kernel32.MEM_RELEASE);
        else Libc.Munmap(start, length);
    }
}
