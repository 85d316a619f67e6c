using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace MmapKv.Storage;

/// <summary>
/// The macOS calls of the Unix storage, where macOS differs from Linux by more than a constant (the constants that
/// differ are switched in <see cref="Constants"/>). macOS libc has no <c>posix_fallocate</c>, and neither
/// <c>fsync</c> nor <c>msync</c> flushes the drive's write cache there; both jobs go through <c>fcntl</c>.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static unsafe partial class Libc
{
    /// <summary>fcntl command: write the file's data and metadata, then flush the drive's cache (macOS).</summary>
    public const int F_FULLFSYNC = 51;
    /// <summary>fcntl command: allocate blocks for the file, described by a <see cref="FStore"/> (macOS).</summary>
    public const int F_PREALLOCATE = 42;
    public const uint F_ALLOCATECONTIG = 0x2;
    public const uint F_ALLOCATEALL = 0x4;
    /// <summary>fst_posmode: the length counts from the file's allocated end, not its logical end.</summary>
    public const int F_PEOFPOSMODE = 3;
    public const int MAC_ENOTSUP = 45;
    public const int EINVAL = 22;     // the same on Linux and macOS

    /// <summary>macOS <c>fstore_t</c>: the same layout on x64 and arm64 (32 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FStore
    {
        public uint Flags;
        public int PosMode;
        public long Offset;
        public long Length;
        public long BytesAllocated;
    }

    // fcntl is variadic. The x64 convention passes a variadic argument like a named one, but Apple's arm64
    // convention passes every variadic argument on the stack. Declaring eight register-sized arguments first fills
    // x0-x7, so the ninth (the argument fcntl reads with va_arg) lands in the first stack slot, where it looks.
    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlRegisterArg(int fd, int cmd, void* arg);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlStackArg(int fd, int cmd, nint x2, nint x3, nint x4, nint x5, nint x6, nint x7, void* arg);

    private static int FcntlMac(int fd, int cmd, void* arg) =>
        RuntimeInformation.ProcessArchitecture == Architecture.Arm64
            ? FcntlStackArg(fd, cmd, 0, 0, 0, 0, 0, 0, arg)
            : FcntlRegisterArg(fd, cmd, arg);

    /// <summary>
    /// macOS: makes the file durable through the drive's cache (<c>F_FULLFSYNC</c>). A file system that refuses
    /// the command (some network and FAT volumes answer ENOTSUP or EINVAL) gets a plain <c>fsync</c>, the most it
    /// offers. Returns 0, or -1 with errno set, like fsync.
    /// </summary>
    public static int FullFsync(int fd)
    {
        if (FcntlMac(fd, F_FULLFSYNC, null) == 0) return 0;
        int errno = Marshal.GetLastPInvokeError();
        if (errno != MAC_ENOTSUP && errno != EINVAL && errno != Constants.EOPNOTSUPP) return -1;
        return Fsync(fd);
    }

    /// <summary>
    /// macOS' <c>posix_fallocate</c>: allocates blocks for <c>[old, newLength)</c> (<c>F_PREALLOCATE</c>, contiguous
    /// if possible), then sets the file's length (<c>ftruncate</c>), so no write through the map can find a hole.
    /// Returns 0 or an error number, like posix_fallocate.
    /// </summary>
    public static int MacPreallocate(int fd, long old, long newLength)
    {
        // Counted from the allocated end: allocating a little more than needed (when earlier space lies past the
        // logical end) is harmless; less is impossible.
        var store = new FStore { Flags = F_ALLOCATECONTIG | F_ALLOCATEALL, PosMode = F_PEOFPOSMODE, Offset = 0, Length = newLength - old };
        if (FcntlMac(fd, F_PREALLOCATE, &store) != 0)
        {
            store.Flags = F_ALLOCATEALL; // no contiguous run that large: any blocks will do
            // ENOSPC, EDQUOT, EFBIG, or ENOTSUP from a file system that cannot preallocate: an ftruncate alone would
            // leave a hole there, and a store into a hole on a full disk is SIGBUS, so the growth fails instead.
            if (FcntlMac(fd, F_PREALLOCATE, &store) != 0) return Marshal.GetLastPInvokeError();
        }
        return Ftruncate(fd, newLength) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
