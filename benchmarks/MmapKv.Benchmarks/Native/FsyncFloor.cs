using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MmapKv.Benchmarks.Native;

/// <summary>
/// The physical floor of a durable commit on this disk: one 4 KiB pwrite at a random 4 KiB-aligned offset of a
/// preallocated, fully written file, then fdatasync (libc, through P/Invoke: the harness, not the library). No
/// engine can make a commit durable with less work than one such write and flush, so an engine's one-put commit
/// rate divided by this rate says how close it gets to the hardware.
/// </summary>
internal sealed unsafe class FsyncFloor : IDisposable
{
    public const int BlockSize = 4096;
    public const long FileBytes = 64L << 20;

    private readonly SafeFileHandle _file;
    private readonly string _path;
    private readonly byte* _block;
    private ulong _rng = 0x9E3779B97F4A7C15;

    public FsyncFloor(string directory)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "fdatasync-floor.dat");
        _file = File.OpenHandle(_path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        // Preallocate by writing every block (not fallocate: overwriting unwritten extents would add metadata
        // journal commits to each flush), then make it durable once.
        var zeros = new byte[1 << 20];
        for (long off = 0; off < FileBytes; off += zeros.Length) RandomAccess.Write(_file, zeros, off);
        RandomAccess.FlushToDisk(_file);
        _block = (byte*)NativeMemory.AlignedAlloc(BlockSize, BlockSize);
        new Span<byte>(_block, BlockSize).Fill(0xA5);
    }

    /// <summary>One overwrite and flush; returns its time in milliseconds.</summary>
    public double WriteAndFlush()
    {
        _rng ^= _rng << 13; _rng ^= _rng >> 7; _rng ^= _rng << 17;
        long offset = (long)(_rng % (ulong)(FileBytes / BlockSize)) * BlockSize;
        int fd = (int)_file.DangerousGetHandle();
        _block[0]++;
        long t0 = Stopwatch.GetTimestamp();
        if (pwrite(fd, _block, BlockSize, offset) != BlockSize) throw new IOException($"pwrite failed: errno {Marshal.GetLastPInvokeError()}");
        if (fdatasync(fd) != 0) throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    public void Dispose()
    {
        _file.Dispose();
        NativeMemory.AlignedFree(_block);
        File.Delete(_path);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern nint pwrite(int fd, byte* buf, nuint count, long offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int fd);
}
