using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace MmapKv.Storage;

/// <summary>
/// The libc calls the Unix storage uses. Constants are the Linux values; <see cref="Constants"/> switches the few
/// that differ on macOS.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport(Lib, EntryPoint = "msync", SetLastError = true)]
    public static partial int Msync(nint addr, nuint length, int flags);

    [LibraryImport(Lib, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint addr, nuint length, int advice);

    /// <summary>Returns an error number directly; it does not set errno.</summary>
    [LibraryImport(Lib, EntryPoint = "posix_fallocate")]
    public static partial int PosixFallocate(int fd, long offset, long length);

    /// <summary>Linux only (macOS has no posix_fadvise). Returns an error number directly; it does not set errno.</summary>
    [LibraryImport(Lib, EntryPoint = "posix_fadvise")]
    public static partial int PosixFadvise(int fd, long offset, long length, int advice);

    [LibraryImport(Lib, EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport(Lib, EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int Fdatasync(int fd);

    [LibraryImport(Lib, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport(Lib, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport(Lib, EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Link(string oldPath, string newPath);

    [LibraryImport(Lib, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    /// <summary>Linux only (glibc 2.28+, musl 1.2.5+). Its struct has one layout on every architecture, unlike stat's.</summary>
    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    /// <summary>macOS: fstat with 64-bit inodes. On arm64 that is plain fstat; on x64 it is the $INODE64 variant.</summary>
    [LibraryImport(Lib, EntryPoint = "fstat", SetLastError = true)]
    public static partial int FstatMac(int fd, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "fstat$INODE64", SetLastError = true)]
    public static partial int FstatMacX64(int fd, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatMac(string path, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "stat$INODE64", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatMacX64(string path, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "fchown", SetLastError = true)]
    public static partial int Fchown(int fd, uint owner, uint group);

    /// <summary>
    /// Linux: fcntl with a <see cref="FlockRecord"/> (F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK). fcntl is variadic;
    /// on Linux x64 and arm64 a variadic pointer travels in the register a named one would (unlike Apple's arm64,
    /// see <c>FcntlMac</c>), so a plain three-argument declaration is correct there.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlLock(int fd, int cmd, FlockRecord* record);


    /// <summary>
    /// Linux <c>struct flock</c> on 64-bit architectures (x64 and arm64 share it: asm-generic with a 64-bit
    /// off_t): short l_type at 0, short l_whence at 2, off_t l_start at 8, off_t l_len at 16, pid_t l_pid at 24,
    /// then 4 bytes of padding; 32 bytes. 32-bit Linux has another layout and is refused by the lock file.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = Size)]
    public struct FlockRecord
    {
        public const int Size = 32;
        [FieldOffset(0)] public short Type;
        [FieldOffset(2)] public short Whence;
        [FieldOffset(8)] public long Start;
        [FieldOffset(16)] public long Length;
        /// <summary>Must be 0 for the open-file-description commands (the kernel answers EINVAL otherwise).</summary>
        [FieldOffset(24)] public int Pid;
    }

    [LibraryImport(Lib, EntryPoint = "strerror")]
    private static partial nint StrError(int errnum);

    public static string Describe(int errno) => $"{Marshal.PtrToStringUTF8(StrError(errno))} (errno {errno})";

    public static class Constants
    {
        public static readonly bool IsMac = OperatingSystem.IsMacOS();
        public const int O_RDONLY = 0;
        public const int O_RDWR = 2;
        public static readonly int O_CREAT = IsMac ? 0x200 : 0x40;
        public static readonly int O_EXCL = IsMac ? 0x800 : 0x80;
        public static readonly int O_CLOEXEC = IsMac ? 0x1000000 : 0x80000;
        public static readonly int O_NONBLOCK = IsMac ? 0x4 : 0x800;
        public const int AT_FDCWD_LINUX = -100;
        public const int AT_EMPTY_PATH = 0x1000;
        public const uint STATX_TYPE = 1;
        public const int STATX_MODE_OFFSET = 0x1C;   // u16 stx_mode in struct statx, on every Linux architecture
        public const int MAC_STAT_MODE_OFFSET = 4;   // u16 st_mode in macOS's 64-bit-inode struct stat
        public const uint STATX_MODE = 2;
        public const uint STATX_NLINK = 4;
        public const uint STATX_UID = 8;
        public const uint STATX_GID = 0x10;
        public const uint STATX_SIZE = 0x200;
        public const int STATX_NLINK_OFFSET = 0x10; // u32 stx_nlink
        public const int STATX_UID_OFFSET = 0x14;   // u32 stx_uid
        public const int STATX_GID_OFFSET = 0x18;   // u32 stx_gid
        public const int STATX_SIZE_OFFSET = 0x28;  // u64 stx_size
        public const int S_PERMISSIONS = 0xFFF;     // the permission bits with set-user-id, set-group-id and sticky
        public const int S_IFMT = 0xF000;            // the file-type bits: the same values on Linux and macOS
        public const int S_IFIFO = 0x1000;
        public const int S_IFCHR = 0x2000;
        public const int S_IFDIR = 0x4000;
        public const int S_IFBLK = 0x6000;
        public const int S_IFREG = 0x8000;
        public const int S_IFLNK = 0xA000;
        public const int S_IFSOCK = 0xC000;
        public const int PROT_READ = 1;
        public const int PROT_WRITE = 2;
        public const int MAP_SHARED = 1;
        public const int PROT_NONE = 0;
        public const int MAP_PRIVATE = 2;
        public static readonly int MAP_ANONYMOUS = IsMac ? 0x1000 : 0x20;
        public const int MADV_DONTNEED = 4;          // the same value on Linux and macOS
        public static readonly int MS_SYNC = IsMac ? 0x10 : 4;
        public const int MADV_RANDOM = 1;
        public const int MADV_POPULATE_WRITE = 23;   // Linux 5.14+
        public const int POSIX_FADV_DONTNEED = 4;     // Linux
        public const int LOCK_SH = 1;
        public const int LOCK_EX = 2;
        public const int LOCK_NB = 4;
        public const int LOCK_UN = 8;
        public const int SEEK_CUR = 1;
        public const int SEEK_END = 2;
        // Linux arm64 (like 32-bit arm) has its own O_DIRECTORY/O_NOFOLLOW/O_DIRECT values: there 0x20000 would
        // be O_LARGEFILE, and a symbolic link would be followed without a word.
        public static readonly int O_NOFOLLOW = IsMac ? 0x100
            : RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;
        public static readonly int ELOOP = IsMac ? 62 : 40;
        public const int EINVAL_LINUX = 22;
        public const int F_OFD_GETLK = 36;  // Linux 3.15+: locks owned by the open file description
        public const int F_OFD_SETLK = 37;
        public const int F_OFD_SETLKW = 38;
        public const short F_RDLCK = 0;     // Linux values (asm-generic, used by x64 and arm64)
        public const short F_WRLCK = 1;
        public const short F_UNLCK = 2;
        public const short SEEK_SET_SHORT = 0;
        public const int EINTR = 4;
        public const int EEXIST = 17;
        public static readonly int EAGAIN = IsMac ? 35 : 11;
        public const int ENOSPC = 28;
        public static readonly int EDQUOT = IsMac ? 69 : 122;
        public const int EFBIG = 27;
        public const int ENOENT = 2;
        public const int EACCES = 13;
        public const int EPERM = 1;
        public static readonly int ENOSYS = IsMac ? 78 : 38;
        public const int ESPIPE = 29;
        public const int ENXIO = 6;
        public const int ENODEV = 19;
        public const int ENOTDIR = 20;
        public const int EISDIR = 21;
        public const int EROFS = 30;
        public static readonly int ENAMETOOLONG = IsMac ? 63 : 36;
        public static readonly int EOPNOTSUPP = IsMac ? 102 : 95;
    }
}
