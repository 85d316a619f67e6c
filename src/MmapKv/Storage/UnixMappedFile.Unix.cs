using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static MmapKv.Storage.Libc.Constants;

namespace MmapKv.Storage;

/// <summary>
/// The Linux and macOS storage: a database file reserved in the address space once, at its full capacity, and
/// mapped shared read/write through libc (<see cref="Libc"/>). Created only through <see cref="MappedStorage.Open"/>.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed unsafe class UnixMappedFile : IStorage
{
    private readonly string _path;
    private byte* _base;
    private volatile bool _noPrefault; // the kernel does not know MADV_POPULATE_WRITE (set on the prefault worker's thread)
    private PrefaultWorker? _prefault; // made at the first prefault, by the writer
    private long _length;
    private readonly long _capacity;
    private int _fd = -1;

    public byte* Base => _base;
    public long Capacity => _capacity;
    public long Length => Volatile.Read(ref _length);
    public bool IsReadOnly { get; }

    public override string ToString() => _path;

    /// <summary>See <see cref="MappedStorage.Open"/>.</summary>
    public UnixMappedFile(string path, bool readOnly, long capacity, bool createNew, int createMode, string reportAs, bool exclusiveLock)
    {
        _path = path;
        IsReadOnly = readOnly;
        // O_NONBLOCK: opening a FIFO for reading otherwise blocks until a writer appears, which may be never. The
        // type check below then refuses it. On a regular file the flag has no effect (no read or write call is
        // ever made on this descriptor; mmap, fsync, fallocate and flock ignore it), so it is left set.
        int flags = (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | (createNew ? O_CREAT | O_EXCL : 0);
        _fd = Libc.Open(path, flags, createMode);
        if (_fd < 0) throw OpenError(Marshal.GetLastPInvokeError(), path, reportAs, createNew);
        try
        {
            RequireRegularFile(path, reportAs);
            // flock locks belong to the open file description, so a second KvDatabase on the same file in this
            // process counts as another opener. Exclusive: one opener at a time. Shared: every non-exclusive opener
            // (the lock file coordinates them), and never together with an exclusive one.
            TakeLock(reportAs, exclusiveLock ? LOCK_EX : LOCK_SH);
            long length = Libc.Lseek(_fd, 0, SEEK_END);
            if (length < 0) throw Failure("lseek");
            _length = length;
            _capacity = Math.Max(capacity, length);
            // Reserve the whole capacity now: the base never moves, so pointers readers hold stay valid (S1).
            // Bytes past the end of the file are never touched: Grow extends the file before any access.
            int prot = readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
            nint p = Libc.Mmap(0, (nuint)_capacity, prot, MAP_SHARED, _fd, 0);
            if (p == -1)
            {
                int errno = Marshal.GetLastPInvokeError();
                // ENODEV: the file system or device does not support mapping; only reachable here when the type
                // check above had no layout-safe call to make (see RequireRegularFile).
                if (errno == ENODEV) throw FileType.NotRegular(reportAs, "a file that cannot be memory-mapped");
                // Not a storage failure (nothing was written): the address space is the limit, so say which knob helps.
                throw new IOException(
                    $"Cannot reserve {_capacity} bytes of address space for {reportAs} ({Libc.Describe(errno)}). " +
                    "The process may have an address-space limit (ulimit -v); set a smaller KvOptions.MaxSize.");
            }
            _base = (byte*)p;
            // B+tree access is random; kernel read-ahead would mostly fetch pages nobody asked for.
            _ = Libc.Madvise(p, (nuint)_capacity, MADV_RANDOM);
        }
        catch
        {
            Libc.Close(_fd);
            _fd = -1;
            throw;
        }
    }

    /// <summary>
    /// The exception for a failed open(2), in the type a .NET caller expects for that cause. None of these is a
    /// <see cref="StorageFailedException"/>: that type means a write-back failed and the machine needs attention,
    /// while these are all about the path the caller gave.
    /// </summary>
    private static Exception OpenError(int errno, string path, string reportAs, bool creating)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(reportAs)) ?? "/";
        if (errno == ENOENT)
            return creating
                ? new DirectoryNotFoundException($"Cannot create database file {reportAs}: the directory {dir} does not exist.")
                : new FileNotFoundException($"Database file not found: {reportAs}", reportAs);
        if (errno == ENOTDIR)
            return new DirectoryNotFoundException($"Cannot open {reportAs}: a component of {dir} is not a directory.");
        if (errno == EACCES || errno == EPERM)
            return new UnauthorizedAccessException($"Access denied to database file {reportAs}: {Libc.Describe(errno)}");
        if (errno == EROFS)
            return new IOException($"{reportAs} is on a read-only file system; open it with KvOptions.ReadOnly = true.");
        if (errno == EISDIR) return FileType.NotRegular(reportAs, FileType.Describe(S_IFDIR));
        // ENXIO: a socket, or a device without a driver; EOPNOTSUPP: a socket on macOS; ENODEV: a device.
        if (errno == ENXIO || errno == EOPNOTSUPP || errno == ENODEV)
        {
            int type = FileType.OfPath(path);
            if (type != S_IFREG) return FileType.NotRegular(reportAs, type < 0 ? "a special file" : FileType.Describe(type));
        }
        if (errno == ENAMETOOLONG) return new PathTooLongException($"Cannot open {reportAs}: {Libc.Describe(errno)}");
        return new IOException($"Cannot open {reportAs}: {Libc.Describe(errno)}");
    }

    /// <summary>
    /// Refuses anything but a regular file, before the lock and the map: a directory would fail the address-space
    /// reservation, /dev/null the map, a FIFO would have hung the open (had it not been non-blocking).
    /// </summary>
    private void RequireRegularFile(string path, string reportAs)
    {
        int type = FileType.OfDescriptor(_fd);
        if (type == S_IFREG) return;
        if (type >= 0) throw FileType.NotRegular(reportAs, FileType.Describe(type));
        // No layout-safe stat call here (a Linux libc without statx). Catch what can be caught without one: a
        // directory by name, a FIFO or socket because it cannot seek. A device is then refused by mmap (ENODEV)
        // or, if it maps, by the format check (it holds no valid meta page).
        if (Directory.Exists(path)) throw FileType.NotRegular(reportAs, FileType.Describe(S_IFDIR));
        if (Libc.Lseek(_fd, 0, SEEK_CUR) < 0 && Marshal.GetLastPInvokeError() == ESPIPE)
            throw FileType.NotRegular(reportAs, "a FIFO or a socket");
    }

    /// <summary>
    /// Takes the flock, retrying briefly. A lock can be held for a moment by a process that is not ours to wait
    /// for: a child forked by any thread of this process keeps a copy of every descriptor (and so of the lock on
    /// its open file description) until it calls exec, even after we closed ours. A real holder keeps it longer
    /// than the retry window and gets <see cref="DatabaseLockedException"/>.
    /// </summary>
    private void TakeLock(string path, int mode)
    {
        var deadline = Environment.TickCount64 + 250;
        while (Libc.Flock(_fd, mode | LOCK_NB) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            // Not a storage failure: the file system does not offer locks (some network file systems).
            if (errno != EAGAIN) throw new IOException($"Cannot lock {path}: {Libc.Describe(errno)}");
            if (Environment.TickCount64 >= deadline)
                throw new DatabaseLockedException(mode == LOCK_EX
                    ? $"{path} is open in another process or another KvDatabase instance (KvOptions.Exclusive, or a file being created, needs it to be the only opener)."
                    : $"{path} is open with KvOptions.Exclusive = true in another process or another KvDatabase instance.");
            Thread.Sleep(2);
        }
    }

    private StorageFailedException Failure(string call)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new StorageFailedException($"{call} failed on {_path}: {Libc.Describe(errno)}", errno);
    }

    public void Grow(long newLength)
    {
        long old = _length;
        if (newLength <= old) return;
        if (newLength > _capacity)
            throw new DatabaseFullException($"The database would need {newLength} bytes but MaxSize is {_capacity} bytes.");
        int rc;
        // Real blocks, not a sparse hole: a write through the map into a hole on a full disk is SIGBUS (S2).
        // macOS libc has no posix_fallocate: F_PREALLOCATE, then ftruncate (Libc.MacOS.cs).
        while ((rc = IsMac ? Libc.MacPreallocate(_fd, old, newLength) : Libc.PosixFallocate(_fd, old, newLength - old)) == EINTR) { }
        if (rc != 0)
        {
            // A failed posix_fallocate may keep what it got: ext4 leaves the blocks (and possibly a longer length)
            // of a partial allocation, so the file system shows no free space until the file is closed. Cut back to
            // the old length; truncating also frees blocks allocated past the end of file. Nothing below the old
            // length changes, so S2 holds, and no meta references the range (it was never usable). Best effort: if
            // the truncate fails, the extra length lies past every page count and a later growth reuses it.
            _ = Libc.Ftruncate(_fd, old);
            if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG)
                throw new DatabaseFullException($"No space to grow {_path} to {newLength} bytes: {Libc.Describe(rc)}");
            throw new StorageFailedException($"{(IsMac ? "F_PREALLOCATE" : "posix_fallocate")} failed on {_path}: {Libc.Describe(rc)}", rc);
        }
        // No fsync here (S2): the commit's own fdatasync makes the new length durable together with the pages and
        // the meta that use it, and a meta on disk whose page count passes the length on disk is refused (M2).
        Volatile.Write(ref _length, newLength);
    }

    public void Prefault(long offset, long length)
    {
        if (IsMac || _noPrefault || _base == null || offset < 0 || length <= 0 || offset + length > Volatile.Read(ref _length)) return;
        (_prefault ??= new PrefaultWorker(Populate)).Request(offset, length);
    }

    public void EndPrefault() => _prefault?.End();

    // On the prefault worker's thread (W8). Linux only: macOS has no such advice. A kernel before 5.14 answers
    // EINVAL: then never again. Any other failure (ENOMEM, EINTR, EFAULT past a length that shrank meanwhile) leaves
    // the pages to fault one by one, as without the call: MADV_POPULATE_WRITE reports SIGBUS as an error and never
    // raises it.
    private void Populate(long offset, long length)
    {
        long end = Math.Min(offset + length, Volatile.Read(ref _length));
        if (end <= offset) return;
        if (Libc.Madvise((nint)(_base + offset), (nuint)(end - offset), MADV_POPULATE_WRITE) != 0
            && Marshal.GetLastPInvokeError() == EINVAL_LINUX)
            _noPrefault = true;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > _length) throw new ArgumentOutOfRangeException(nameof(offset));
        data.CopyTo(new Span<byte>(_base + offset, data.Length));
    }

    public void VerifyLength()
    {
        long actual = Libc.Lseek(_fd, 0, SEEK_END);
        if (actual < 0) throw Failure("lseek");
        if (actual < Volatile.Read(ref _length))
            Corrupt.Throw($"{_path} was truncated to {actual} bytes by another process while open (expected {_length}); close and reopen it.");
    }

    public void Cover(long length)
    {
        long actual = Libc.Lseek(_fd, 0, SEEK_END);
        if (actual < 0) throw Failure("lseek");
        // Also when the length asked for fits: a writer must never work from a length shorter than the file's.
        if (actual > _capacity) throw MappedStorage.OutgrewMaxSize(_path, actual, _capacity);
        if (actual < length) Corrupt.Throw($"{_path} is {actual} bytes long, but a commit of another process uses {length}");
        // The whole capacity is mapped already (MAP_SHARED past the end of file): only the length moves.
        long target = Math.Min(actual, _capacity), seen;
        while ((seen = Volatile.Read(ref _length)) < target && Interlocked.CompareExchange(ref _length, target, seen) != seen) { }
    }

    public void Shrink(long newLength)
    {
        if (newLength >= _length) return;
        if (Libc.Ftruncate(_fd, newLength) != 0) throw Failure("ftruncate");
        Volatile.Write(ref _length, newLength);
        if (FsyncDurable() != 0) throw Failure(FsyncName);
    }

    public void Flush(long offset, long length)
    {
        if (length <= 0) return;
        // msync wants an address aligned to the OS page, which may be larger than the database page (16 KiB on
        // some arm64 kernels). Widening the range only writes back more; it never promises less.
        long osPage = Environment.SystemPageSize;
        long start = offset / osPage * osPage;
        long end = Math.Min(offset + length, _length);
        if (Libc.Msync((nint)(_base + start), (nuint)(end - start), MS_SYNC) != 0) throw Failure("msync");
        // On Linux msync(MS_SYNC) ends in the file system's fsync of the range, which flushes the device cache. On
        // macOS it only writes the pages to the drive: the drive's cache needs F_FULLFSYNC.
        if (IsMac && Libc.FullFsync(_fd) != 0) throw Failure("fcntl(F_FULLFSYNC)");
    }

    public void StartWriteback(long offset, long length)
    {
        // Linux: nothing. The fdatasync of SyncData that follows writes back every dirty page of the file, mapped
        // ones included, in one writeback pass, so a sync_file_range per range only added a system call, a pass and
        // its TLB shootdowns per range (5 to 6 ranges per one-put commit). Without them 4,000 one-put commits took
        // about 8 % less time (docs/benchmarks.md, "Writeback in one pass").
        if (!IsMac) return;
        long end = Math.Min(offset + length, _length);
        if (end <= offset) return;
        // macOS: write the range back synchronously (msync), as before any fsync-like call there. msync does not
        // flush the drive cache, so this is no device flush; SyncData's F_FULLFSYNC that follows is the one (§9 A5).
        long osPage = Environment.SystemPageSize;
        long start = offset / osPage * osPage;
        if (Libc.Msync((nint)(_base + start), (nuint)(end - start), MS_SYNC) != 0) throw Failure("msync");
    }

    public void SyncData()
    {
        // fdatasync writes every dirty page of the file (mapped ones included: the kernel tracks a shared
        // mapping's dirty pages in the page cache), and the inode too when the size changed, then flushes the
        // device cache once. On macOS fsync does not flush the drive cache: F_FULLFSYNC does (and writes the
        // length too).
        if ((IsMac ? Libc.FullFsync(_fd) : Libc.Fdatasync(_fd)) != 0) throw Failure(IsMac ? "fcntl(F_FULLFSYNC)" : "fdatasync");
    }

    public void Sync()
    {
        if (FsyncDurable() != 0) throw Failure(FsyncName);
    }

    /// <summary>fsync, or on macOS F_FULLFSYNC: there fsync leaves the data in the drive's volatile cache.</summary>
    private int FsyncDurable() => IsMac ? Libc.FullFsync(_fd) : Libc.Fsync(_fd);

    private static string FsyncName => IsMac ? "fcntl(F_FULLFSYNC)" : "fsync";

    public void CloseFile()
    {
        if (_fd < 0) return;
        // The map holds its own reference to the open file description, and a flock lives as long as that
        // description: closing the descriptor alone would keep the lock until munmap. So unlock explicitly.
        Libc.Flock(_fd, LOCK_UN);
        Libc.Close(_fd);
        _fd = -1;
    }

    public void Dispose()
    {
        _prefault?.Dispose(); // before the unmap: no prefault may run on an address no longer mapped
        CloseFile();
        if (_base != null)
        {
            Libc.Munmap((nint)_base, (nuint)_capacity);
            _base = null;
        }
    }

    /// <summary>Publishes a fully written file under its final name, failing if the name exists; then makes the directory entry durable.</summary>
    public static bool TryPublish(string tempPath, string finalPath)
    {
        bool published = Libc.Link(tempPath, finalPath) == 0;
        int errno = published ? 0 : Marshal.GetLastPInvokeError();
        Libc.Unlink(tempPath);
        if (!published && errno != EEXIST)
            throw new IOException($"Cannot create {finalPath}: {Libc.Describe(errno)}"); // e.g. a file system without hard links
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
        return published;
    }

    private static void SyncDirectory(string dir)
    {
        int fd = Libc.Open(dir, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) return; // some file systems do not allow opening a directory; the data file itself is synced
        try { _ = IsMac ? Libc.FullFsync(fd) : Libc.Fsync(fd); } finally { Libc.Close(fd); }
    }
}
