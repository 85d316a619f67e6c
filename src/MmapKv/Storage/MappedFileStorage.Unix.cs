using System.Runtime.InteropServices;
using static MmapKv.Storage.Libc.Constants;

namespace MmapKv.Storage;

internal sealed unsafe partial class MappedFileStorage
{
    private int _fd = -1;

    private MappedFileStorage(string path, bool readOnly, long capacity, bool createNew, int createMode)
    {
        _path = path;
        IsReadOnly = readOnly;
        int flags = (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (createNew ? O_CREAT | O_EXCL : 0);
        _fd = Libc.Open(path, flags, createMode);
        if (_fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT) throw new FileNotFoundException($"Database file not found: {path}", path);
            if (errno == EACCES) throw new UnauthorizedAccessException($"Access denied to database file {path}: {Libc.Describe(errno)}");
            throw new StorageFailedException($"Cannot open {path}: {Libc.Describe(errno)}", errno);
        }
        try
        {
            // One process (one open description) at a time. flock locks belong to the open file description, so a
            // second KvDatabase on the same file in this process is refused too. Readers share; a writer excludes.
            TakeLock(path, readOnly ? LOCK_SH : LOCK_EX);
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
                throw new StorageFailedException(
                    $"Cannot reserve {_capacity} bytes of address space for {path} ({Libc.Describe(errno)}). " +
                    "The process may have an address-space limit (ulimit -v); set a smaller KvOptions.MaxSize.", errno);
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
            if (errno != EAGAIN) throw new StorageFailedException($"Cannot lock {path}: {Libc.Describe(errno)}", errno);
            if (Environment.TickCount64 >= deadline)
                throw new DatabaseLockedException($"{path} is open in another process or another KvDatabase instance.");
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
        while ((rc = Libc.PosixFallocate(_fd, old, newLength - old)) == EINTR) { }
        if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG)
            throw new DatabaseFullException($"No space to grow {_path} to {newLength} bytes: {Libc.Describe(rc)}");
        if (rc != 0) throw new StorageFailedException($"posix_fallocate failed on {_path}: {Libc.Describe(rc)}", rc);
        // The new length must be durable before any meta page can reference pages in it.
        if (Libc.Fsync(_fd) != 0) throw Failure("fsync");
        Volatile.Write(ref _length, newLength);
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
            throw new CorruptDatabaseException($"{_path} was truncated to {actual} bytes by another process while open (expected {_length}); close and reopen it.");
    }

    public void Shrink(long newLength)
    {
        if (newLength >= _length) return;
        if (Libc.Ftruncate(_fd, newLength) != 0) throw Failure("ftruncate");
        Volatile.Write(ref _length, newLength);
        if (Libc.Fsync(_fd) != 0) throw Failure("fsync");
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
    }

    public void Sync()
    {
        if (Libc.Fsync(_fd) != 0) throw Failure("fsync");
    }

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
            throw new StorageFailedException($"Cannot create {finalPath}: {Libc.Describe(errno)}", errno);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
        return published;
    }

    private static void SyncDirectory(string dir)
    {
        int fd = Libc.Open(dir, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) return; // some file systems do not allow opening a directory; the data file itself is synced
        try { Libc.Fsync(fd); } finally { Libc.Close(fd); }
    }
}
