using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static MmapKv.Storage.Libc.Constants;

namespace MmapKv.Storage;

/// <summary>
/// What kind of file a descriptor or path is. A database must be a regular file: a directory, device, FIFO or
/// socket would fail later with a misleading error (an address-space reservation, an fallocate errno), or hang.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static unsafe class FileType
{
    /// <summary>Set once statx turned out not to be exported (glibc before 2.28, older musl) or not allowed (ENOSYS).</summary>
    private static volatile bool s_noStatx;

    /// <summary>The S_IFMT bits of an open descriptor, or -1 when this platform offers no layout-safe call.</summary>
    public static int OfDescriptor(int fd)
    {
        byte* buffer = stackalloc byte[256]; // struct statx is 256 bytes; macOS's struct stat is 144
        new Span<byte>(buffer, 256).Clear();
        if (IsMac)
        {
            int rc = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? Libc.FstatMacX64(fd, buffer) : Libc.FstatMac(fd, buffer);
            return rc == 0 ? *(ushort*)(buffer + MAC_STAT_MODE_OFFSET) & S_IFMT : -1;
        }
        return StatxType(fd, "", AT_EMPTY_PATH, buffer);
    }

    /// <summary>The S_IFMT bits of the file a path names (following symbolic links), or -1 when unknown.</summary>
    public static int OfPath(string path)
    {
        byte* buffer = stackalloc byte[256];
        new Span<byte>(buffer, 256).Clear();
        if (IsMac)
        {
            int rc = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? Libc.StatMacX64(path, buffer) : Libc.StatMac(path, buffer);
            return rc == 0 ? *(ushort*)(buffer + MAC_STAT_MODE_OFFSET) & S_IFMT : -1;
        }
        return StatxType(AT_FDCWD_LINUX, path, 0, buffer);
    }

    private static int StatxType(int dirFd, string path, int flags, byte* buffer)
    {
        if (s_noStatx) return -1;
        try
        {
            if (Libc.Statx(dirFd, path, flags, STATX_TYPE, buffer) == 0) return *(ushort*)(buffer + STATX_MODE_OFFSET) & S_IFMT;
            if (Marshal.GetLastPInvokeError() == ENOSYS) s_noStatx = true; // old kernel, or a seccomp filter refusing it
            return -1;
        }
        catch (EntryPointNotFoundException)
        {
            s_noStatx = true;
            return -1;
        }
    }

    /// <summary>"a directory", "a FIFO (named pipe)", … for an error message.</summary>
    public static string Describe(int type) => type switch
    {
        S_IFDIR => "a directory",
        S_IFCHR => "a character device",
        S_IFBLK => "a block device",
        S_IFIFO => "a FIFO (named pipe)",
        S_IFSOCK => "a socket",
        S_IFLNK => "a symbolic link",
        _ => "not a regular file",
    };

    /// <summary>The error for a path that is not a regular file: the caller passed the wrong path, not a storage failure.</summary>
    public static IOException NotRegular(string path, string what) =>
        new($"{path} is {what}; an MmapKv database must be a regular file.");
}
