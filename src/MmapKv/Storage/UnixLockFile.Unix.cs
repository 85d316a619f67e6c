using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static MmapKv.Storage.Libc.Constants;

namespace MmapKv.Storage;

/// <summary>
/// The Linux lock file (see <see cref="ILockFile"/>): open with O_NOFOLLOW and checked on the open descriptor,
/// mapped MAP_SHARED read/write, locked with open-file-description (OFD) byte-range locks. Created only through
/// <see cref="LockFile.Open"/>, which refuses 32-bit Linux and macOS before this class is reached.
/// </summary>
/// <remarks>
/// Why OFD locks (fcntl F_OFD_SETLK, Linux 3.15+): like flock they belong to the open file description, so two
/// instances in one process conflict and closing an unrelated descriptor of the same file drops nothing (classic
/// POSIX fcntl locks belong to the process and have both faults); unlike flock they cover byte ranges, so one
/// file carries many independent locks. The kernel releases them with the last reference to the description: at
/// <see cref="Dispose"/>, or when the process dies. A map holds such a reference, so Dispose unlocks explicitly.
/// A child forked without exec (O_CLOEXEC covers exec) shares the description, and its locks, until it exits.
/// </remarks>
[UnsupportedOSPlatform("windows")]
internal sealed unsafe class UnixLockFile : ILockFile
{
    private readonly Dictionary<long, bool> _held = [];
    private readonly Stack<(long From, long To)> _search = new(); // FindLockedByOthers' ranges still to ask (reused)
    private int _fd = -1;
    private byte* _base;
    private long _length;

    public string Path { get; }
    public byte* Base => _base;
    public long Length => _length;
    public bool ConvertsAtomically => true;

    public override string ToString() => Path;

    /// <summary>See <see cref="LockFile.Open"/>.</summary>
    public UnixLockFile(string lockPath, string databasePath, int createMode, bool readOnlyDatabase)
    {
        Path = lockPath;
        var db = StatPath(databasePath);
        bool created = OpenOrCreate(lockPath, createMode & db.Mode & 0x1FF, readOnlyDatabase);
        try
        {
            var st = StatDescriptor();
            if (created && st.Uid != db.Uid)
            {
                // We are not the database's owner (root, or a member of a group the database lets write): the file
                // we just made would fail the owner check in every other process, the owner's included. Hand it over.
                if (Libc.Fchown(_fd, db.Uid, db.Gid) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    Libc.Unlink(lockPath); // ours, just made, still empty
                    throw new UnauthorizedAccessException(
                        $"Cannot create lock file {lockPath} for {databasePath}: it must belong to the database's owner " +
                        $"(uid {db.Uid}), and giving it to that owner failed ({Libc.Describe(errno)}). Let the owner open the database first.");
                }
                st = StatDescriptor();
            }
            Check(st, db, databasePath);
        }
        catch
        {
            Libc.Close(_fd);
            _fd = -1;
            throw;
        }
    }

    private readonly record struct Status(int Type, int Mode, uint Uid, uint Gid, uint Links, long Size);

    /// <summary>Opens the lock file read/write, or creates it exclusively. True when this call created it.</summary>
    private bool OpenOrCreate(string path, int mode, bool readOnlyDatabase)
    {
        // O_NOFOLLOW: a symbolic link planted at the path (by anyone who can write the directory) is refused, not
        // followed to a file of the victim's that the map would then write. O_NONBLOCK: a FIFO would otherwise
        // block the open forever; the type check refuses it. No read or write call is ever made on the descriptor.
        int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
        for (int attempt = 0; ; attempt++)
        {
            _fd = Libc.Open(path, flags, 0);
            if (_fd >= 0) return false;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            if (errno != ENOENT) throw OpenError(errno, path, readOnlyDatabase);
            _fd = Libc.Open(path, flags | O_CREAT | O_EXCL, mode);
            if (_fd >= 0) return true;
            errno = Marshal.GetLastPInvokeError();
            // EEXIST: another process created it between the two opens; open theirs. (A path that keeps appearing
            // and vanishing is someone deleting lock files in a loop: give up after a few rounds.)
            if ((errno != EEXIST && errno != EINTR) || attempt >= 10) throw OpenError(errno, path, readOnlyDatabase);
        }
    }

    private static Exception OpenError(int errno, string path, bool readOnlyDatabase)
    {
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? "/";
        string why = readOnlyDatabase
            ? "A read-only open in shared mode still writes the lock file (it registers its readers there)"
            : "Shared mode keeps its reader table and writer lock in this file";
        if (errno == ELOOP)
            return new UnauthorizedAccessException($"Lock file {path} is a symbolic link; it is refused, never followed. Remove it (a lock file holds no data).");
        if (errno == ENOENT)
            return new DirectoryNotFoundException($"Cannot create lock file {path}: the directory {dir} does not exist.");
        if (errno == ENOTDIR)
            return new DirectoryNotFoundException($"Cannot open lock file {path}: a component of {dir} is not a directory.");
        if (errno == EACCES || errno == EPERM)
            return new UnauthorizedAccessException(
                $"Access denied to lock file {path} ({Libc.Describe(errno)}). {why}, so every process that opens the database " +
                "needs read/write access to it and write access to its directory to create it; or open with KvOptions.Exclusive = true.");
        if (errno == EROFS)
            return new ReadOnlyFileSystemException($"Cannot open lock file {path}: the file system is read-only. {why}; open with KvOptions.Exclusive = true.");
        if (errno == EISDIR) return NotRegular(path, FileType.Describe(S_IFDIR));
        if (errno == ENXIO || errno == EOPNOTSUPP || errno == ENODEV) return NotRegular(path, "a special file");
        if (errno == ENAMETOOLONG) return new PathTooLongException($"Cannot open lock file {path}: {Libc.Describe(errno)}");
        return new IOException($"Cannot open lock file {path}: {Libc.Describe(errno)}");
    }

    private static IOException NotRegular(string path, string what) =>
        new($"Lock file {path} is {what}; it must be a regular file. Remove it (a lock file holds no data).");

    /// <summary>The lock file may be trusted only as far as the database itself: same owner, no wider mode, one name.</summary>
    private void Check(Status st, Status db, string databasePath)
    {
        if (st.Type != S_IFREG) throw NotRegular(Path, FileType.Describe(st.Type));
        if (st.Uid != db.Uid)
            throw new UnauthorizedAccessException(
                $"Lock file {Path} belongs to uid {st.Uid}, but the database {databasePath} belongs to uid {db.Uid}; another user " +
                "could change the shared state of every process that opens the database. Remove the lock file (it holds no data).");
        int wider = st.Mode & ~db.Mode & S_PERMISSIONS;
        if (wider != 0)
            throw new UnauthorizedAccessException(
                $"Lock file {Path} has mode {Octal(st.Mode)}, which grants {Octal(wider)} that the database {databasePath} " +
                $"(mode {Octal(db.Mode)}) does not; more users could change the shared state than may write the data. " +
                $"Narrow it (chmod {Octal(st.Mode & db.Mode & S_PERMISSIONS)}) or remove it.");
        if (st.Links != 1)
            throw new UnauthorizedAccessException(
                $"Lock file {Path} has {st.Links} hard links; it may be another file under a second name, which the map " +
                "would overwrite. Remove it (a lock file holds no data).");
    }

    private static string Octal(int mode) => "0" + Convert.ToString(mode, 8);

    private const uint StatMask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_SIZE;

    private static Status StatPath(string databasePath)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(AT_FDCWD_LINUX, databasePath, 0, buffer) == 0) return Decode(buffer);
        int errno = Marshal.GetLastPInvokeError();
        if (errno == ENOENT) throw new FileNotFoundException($"Database file not found: {databasePath} (its lock file is checked against it).", databasePath);
        if (errno == EACCES || errno == EPERM) throw new UnauthorizedAccessException($"Access denied to database file {databasePath}: {Libc.Describe(errno)}");
        throw new IOException($"Cannot read the owner and mode of {databasePath}: {Libc.Describe(errno)}");
    }

    private Status StatDescriptor()
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(_fd, "", AT_EMPTY_PATH, buffer) == 0) return Decode(buffer);
        throw new IOException($"Cannot read the owner and mode of lock file {Path}: {Libc.Describe(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>statx, whose struct has one layout on every Linux architecture. Without it nothing can be checked.</summary>
    private static int Statx(int dirFd, string path, int flags, byte* buffer)
    {
        new Span<byte>(buffer, 256).Clear();
        try
        {
            int rc = Libc.Statx(dirFd, path, flags, StatMask, buffer);
            if (rc != 0 && Marshal.GetLastPInvokeError() == ENOSYS) throw NoStatx(null);
            return rc;
        }
        catch (EntryPointNotFoundException e)
        {
            throw NoStatx(e);
        }
    }

    private static PlatformNotSupportedException NoStatx(Exception? inner) => new(
        "Shared multi-process mode checks its lock file's owner and mode with statx (Linux 4.11, glibc 2.28, musl 1.2.5), " +
        "which this system does not offer; open with KvOptions.Exclusive = true.", inner);

    private static Status Decode(byte* b)
    {
        int mode = *(ushort*)(b + STATX_MODE_OFFSET);
        return new Status(mode & S_IFMT, mode & S_PERMISSIONS, *(uint*)(b + STATX_UID_OFFSET), *(uint*)(b + STATX_GID_OFFSET),
            *(uint*)(b + STATX_NLINK_OFFSET), (long)*(ulong*)(b + STATX_SIZE_OFFSET));
    }

    public long FileLength
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            long length = Libc.Lseek(_fd, 0, SEEK_END);
            if (length < 0) throw Failure("lseek");
            return length;
        }
    }

    public void Resize(long length)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Unmap();
        long old = FileLength;
        if (length > old)
        {
            // Real blocks, not a hole: a store through the map into a hole on a full disk is SIGBUS, which kills
            // the process. File systems without fallocate (EOPNOTSUPP from musl; glibc writes zeros itself) get a
            // plain ftruncate: the lock file is a few pages, so the risk there is small.
            int rc;
            while ((rc = Libc.PosixFallocate(_fd, old, length - old)) == EINTR) { }
            if (rc == EOPNOTSUPP)
                rc = Libc.Ftruncate(_fd, length) == 0 ? 0 : Marshal.GetLastPInvokeError();
            if (rc != 0)
            {
                _ = Libc.Ftruncate(_fd, old);
                if (rc == ENOSPC || rc == EDQUOT)
                    throw new IOException($"No space to extend lock file {Path} to {length} bytes: {Libc.Describe(rc)}");
                throw new IOException($"Cannot extend lock file {Path} to {length} bytes: {Libc.Describe(rc)}");
            }
        }
        else if (length < old && Libc.Ftruncate(_fd, length) != 0)
        {
            throw Failure("ftruncate");
        }
        Map(length);
    }

    public void MapExisting(long minimumLength)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        long length = FileLength;
        LockFile.CheckMappable(Path, length, minimumLength);
        Unmap(); // an earlier map (a joiner's earlier attempt) may be of another length
        Map(length);
    }

    private void Map(long length)
    {
        nint p = Libc.Mmap(0, (nuint)length, PROT_READ | PROT_WRITE, MAP_SHARED, _fd, 0);
        if (p == -1) throw Failure("mmap");
        _base = (byte*)p;
        _length = length;
    }

    private void Unmap()
    {
        if (_base == null) return;
        Libc.Munmap((nint)_base, (nuint)_length);
        _base = null;
        _length = 0;
    }

    public bool TryLock(long offset, bool exclusive) => SetLock(offset, exclusive ? F_WRLCK : F_RDLCK, wait: false);

    public void Lock(long offset, bool exclusive) => SetLock(offset, exclusive ? F_WRLCK : F_RDLCK, wait: true);

    public void Unlock(long offset) => SetLock(offset, F_UNLCK, wait: false);

    public bool? HeldMode(long offset)
    {
        lock (_held) return _held.TryGetValue(offset, out bool exclusive) ? exclusive : null;
    }

    /// <summary>
    /// One fcntl on the byte at <paramref name="offset"/>. Setting a lock over one this description holds replaces
    /// it in one step (the kernel's conversion); a conflicting upgrade leaves the old lock in place.
    /// </summary>
    private bool SetLock(long offset, short type, bool wait)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var record = new Libc.FlockRecord { Type = type, Whence = SEEK_SET_SHORT, Start = offset, Length = 1, Pid = 0 };
        while (Libc.FcntlLock(_fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &record) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue; // a signal handler ran; the wait (or the attempt) starts again
            // POSIX allows either for "held by someone else".
            if (!wait && (errno == EAGAIN || errno == EACCES)) return false;
            if (errno == EINVAL_LINUX)
                throw new PlatformNotSupportedException(
                    $"Cannot lock {Path}: this kernel has no open-file-description locks (Linux 3.15+); open with KvOptions.Exclusive = true.");
            // ENOLCK: the lock table is full, or the file system (some network ones) offers no byte-range locks.
            throw new IOException($"Cannot {(type == F_UNLCK ? "unlock" : "lock")} byte {offset} of lock file {Path}: {Libc.Describe(errno)}");
        }
        lock (_held)
        {
            if (type == F_UNLCK) _held.Remove(offset);
            else _held[offset] = type == F_WRLCK;
        }
        return true;
    }

    public bool FindLockedByOthers(long offset, long length, List<long> into, int limit)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        // Each query names one lock that conflicts with an exclusive lock on the range (the kernel skips this
        // description's own); the parts of the range on either side of it are asked again.
        lock (_search)
        {
            _search.Clear();
            return Search(offset, length, into, limit);
        }
    }

    private bool Search(long offset, long length, List<long> into, int limit)
    {
        var todo = _search;
        todo.Push((offset, offset + length));
        while (todo.TryPop(out var range))
        {
            var (from, to) = range;
            if (from >= to) continue;
            var record = new Libc.FlockRecord { Type = F_WRLCK, Whence = SEEK_SET_SHORT, Start = from, Length = to - from, Pid = 0 };
            while (Libc.FcntlLock(_fd, F_OFD_GETLK, &record) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new IOException($"Cannot query the locks on bytes {from} to {to} of lock file {Path}: {Libc.Describe(errno)}");
            }
            if (record.Type == F_UNLCK) continue;
            long start = Math.Max(record.Start, from);
            long end = record.Length == 0 ? to : Math.Min(record.Start + record.Length, to);
            if (end <= start) throw new IOException($"The kernel named a lock outside the bytes {from} to {to} asked about in lock file {Path}.");
            if (end - start > limit - into.Count) return false;
            for (long at = start; at < end; at++) into.Add(at);
            todo.Push((from, start));
            todo.Push((end, to));
        }
        return true;
    }

    private IOException Failure(string call) =>
        new($"{call} failed on lock file {Path}: {Libc.Describe(Marshal.GetLastPInvokeError())}");

    public void Dispose()
    {
        if (_fd < 0) return;
        // The map keeps the open file description (and so its locks) alive after close: drop every lock of this
        // description first (length 0 = to the end of any file), then the map, then the descriptor.
        var all = new Libc.FlockRecord { Type = F_UNLCK, Whence = SEEK_SET_SHORT, Start = 0, Length = 0, Pid = 0 };
        _ = Libc.FcntlLock(_fd, F_OFD_SETLK, &all);
        lock (_held) _held.Clear();
        Unmap();
        Libc.Close(_fd);
        _fd = -1;
    }
}
