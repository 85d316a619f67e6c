using System.Runtime.InteropServices;
using MmapKv.Storage;
using static MmapKv.Storage.Libc.Constants;

namespace MmapKv.Simulation;

/// <summary>
/// Zeroed memory for a simulated file's live image, straight from the OS (Unix: an anonymous private mapping;
/// Windows: <c>VirtualAlloc</c>), so that only the pages a test writes take memory. A heap's zeroed allocation
/// (<c>calloc</c>) is not that everywhere: Wine's heap zero-fills a large block, so every 64 MiB image took 64 MiB
/// until its finalizer ran, and the Windows test run under Wine grew past the machine's memory.
/// </summary>
internal static unsafe class ZeroedImage
{
    /// <exception cref="InsufficientMemoryException">The OS refused.</exception>
    public static byte* Allocate(long length)
    {
        nint p;
        if (OperatingSystem.IsWindows())
            p = (nint)Kernel32.VirtualAlloc(null, (nuint)length, Kernel32.MEM_RESERVE | Kernel32.MEM_COMMIT, Kernel32.PAGE_READWRITE);
        else
        {
            p = Libc.Mmap(0, (nuint)length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == -1) p = 0;
        }
        if (p == 0)
            throw new InsufficientMemoryException(
                $"A simulated file of {length} bytes could not get its memory from the OS (error {Marshal.GetLastPInvokeError()}).");
        return (byte*)p;
    }

    public static void Free(byte* image, long length)
    {
        if (OperatingSystem.IsWindows()) Kernel32.VirtualFree(image, 0, Kernel32.MEM_RELEASE);
        else Libc.Munmap((nint)image, (nuint)length);
    }
}
