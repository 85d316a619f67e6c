using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static MmapKv.Storage.Kernel32;

namespace MmapKv.Storage;

/// <summary>
/// The Windows lock file (see <see cref="ILockFile"/>): opened without following a reparse point, mapped through
/// one read/write view, locked with <c>LockFileEx</c> byte ranges. Created only through <see cref="LockFile.Open"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Locks belong to the handle, so two instances in one process conflict. Windows releases a handle's locks
/// when it is closed or its process ends, but documents the release of a dead process's locks as not necessarily
/// immediate: a caller waiting for a dead holder's lock should retry for a while, not conclude from one try.</item>
/// <item>Byte-range locks on Windows are mandatory for ReadFile and WriteFile through other handles, so the
/// locked bytes are moved far past any real end of file (<see cref="LockBase"/> + offset): they never block an
/// access to the file's content, through a view or otherwise.</item>
/// <item>Windows stacks locks (a shared lock taken twice needs two unlocks) and has no conversion. This class keeps
/// one lock per offset: taking the held mode again does nothing. A downgrade (exclusive to shared) is atomic: the
/// shared lock is added over the handle's own exclusive one, which Windows allows, and then the exclusive one is
/// removed (Windows removes the exclusive lock of such a pair first); if the shared lock is refused the class
/// falls back to unlock-then-lock. An upgrade (shared to exclusive) is not atomic: the shared lock is released
/// and the exclusive one requested, so another process may take the byte in between. When a <see cref="TryLock"/>
/// upgrade fails, the shared lock is requested again without waiting; if someone took the byte exclusively in
/// between, nothing is held (<see cref="HeldMode"/> returns null), and the caller must treat the shared lock as
/// lost.</item>
/// <item>No owner or mode check: the file gets its directory's ACL, like the database file. A reparse point
/// (symbolic link, junction) or a file with several hard links at the path is refused.</item>
/// </list>
/// </remarks>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsLockFile : ILockFile
{
    /// <summary>Where offset 0 is locked: past the end of any lock file, and far below the largest lockable offset.</summary>
    internal const long LockBase = 1L << 62;

    private readonly Dictionary<long, bool> _held = [];
    private readonly Stack<(long From, long To)> _search = new(); // FindLockedByOthers' ranges still to ask (reused)
    private nint _file;
    private byte* _base;
    private long _length;

    public string Path { get; }
    public byte* Base => _base;
    public long Length => _length;
    public bool ConvertsAtomically => false;

    public override string ToString() => Path;

    /// <summary>See <see cref="LockFile.Open"/>.</summary>
    public WindowsLockFile(string lockPath, bool readOnlyDatabase)
    {
        Path = lockPath;
        _file = CreateFile(lockPath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0,
            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, 0);
        if (_file == InvalidHandle) throw OpenError(Marshal.GetLastPInvokeError(), lockPath, readOnlyDatabase);
        try
        {
            if (GetFileType(_file) != FILE_TYPE_DISK) throw NotRegular(lockPath, "a device or a pipe");
            byte* info = stackalloc byte[FileInfoSize];
            if (!GetFileInformationByHandle(_file, info)) throw Failure("GetFileInformationByHandle");
            uint attributes = *(uint*)info;
            if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0)
                throw new UnauthorizedAccessException($"Lock file {lockPath} is a symbolic link or junction; it is refused, never followed. Remove it (a lock file holds no data).");
            if ((attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) throw NotRegular(lockPath, "a directory");
            uint links = *(uint*)(info + FileInfoLinksOffset);
            if (links != 1)
                throw new UnauthorizedAccessException(
                    $"Lock file {lockPath} has {links} hard links; it may be another file under a second name, which the map " +
                    "would overwrite. Remove it (a lock file holds no data).");
        }
        catch
        {
            CloseHandle(_file);
            _file = 0;
            throw;
        }
    }

    private static Exception OpenError(int error, string path, bool readOnlyDatabase)
    {
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? path;
        string why = readOnlyDatabase
            ? "A read-only open in shared mode still writes the lock file (it registers its readers there)"
            : "Shared mode keeps its reader table and writer lock in this file";
        switch (error)
        {
            case ERROR_PATH_NOT_FOUND:
            case ERROR_FILE_NOT_FOUND:
                return new DirectoryNotFoundException($"Cannot create lock file {path}: the directory {dir} does not exist.");
            case ERROR_ACCESS_DENIED:
                if (Directory.Exists(path)) return NotRegular(path, "a directory");
                return new UnauthorizedAccessException(
                    $"Access denied to lock file {path} ({Describe(error)}). {why}, so every process that opens the database needs " +
                    "read/write access to it; or open with KvOptions.Exclusive = true.");
            case ERROR_WRITE_PROTECT:
                return new IOException($"Cannot open lock file {path}: the medium is write-protected. {why}; open with KvOptions.Exclusive = true.");
            case ERROR_SHARING_VIOLATION:
                return new IOException($"Cannot open lock file {path}: another program holds it open without sharing ({Describe(error)}).");
            case ERROR_FILENAME_EXCED_RANGE:
                return new PathTooLongException($"Cannot open lock file {path}: {Describe(error)}");
            default:
                return new IOException($"Cannot open lock file {path}: {Describe(error)}");
        }
    }

    private static IOException NotRegular(string path, string what) =>
        new($"Lock file {path} is {what}; it must be a regular file. Remove it (a lock file holds no data).");

    private IOException Failure(string call)
    {
        int error = Marshal.GetLastPInvokeError();
        return new IOException($"{call} failed on lock file {Path}: {Describe(error)}");
    }

    public long FileLength
    {
        get
        {
            ObjectDisposedException.ThrowIf(_file == 0, this);
            if (!GetFileSizeEx(_file, out long size)) throw Failure("GetFileSizeEx");
            return size;
        }
    }

    public void Resize(long length)
    {
        ObjectDisposedException.ThrowIf(_file == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Unmap();
        long old = FileLength;
        if (length > old)
        {
            // Zeros written, not an end-of-file moved: every file system then holds real clusters for them (under
            // Wine an end-of-file call is an ftruncate, which leaves a hole a store through the view could fault in).
            const int Chunk = 64 << 10;
            byte* zeros = (byte*)NativeMemory.AllocZeroed(Chunk);
            try
            {
                for (long at = old; at < length;)
                {
                    uint n = (uint)Math.Min(Chunk, length - at);
                    var where = new LockOverlapped { Offset = unchecked((uint)at), OffsetHigh = (uint)(at >> 32) };
                    if (!WriteFile(_file, zeros, n, out uint written, &where) || written == 0)
                    {
                        int error = Marshal.GetLastPInvokeError();
                        long back = old;
                        _ = SetFileInformationByHandle(_file, FileEndOfFileInfo, &back, sizeof(long));
                        throw new IOException($"Cannot extend lock file {Path} to {length} bytes: {Describe(error)}");
                    }
                    at += written;
                }
            }
            finally
            {
                NativeMemory.Free(zeros);
            }
        }
        else if (length < old && !SetFileInformationByHandle(_file, FileEndOfFileInfo, &length, sizeof(long)))
        {
            throw Failure("SetFileInformationByHandle(FileEndOfFileInfo)");
        }
        Map(length);
    }

    public void MapExisting(long minimumLength)
    {
        ObjectDisposedException.ThrowIf(_file == 0, this);
        long length = FileLength;
        LockFile.CheckMappable(Path, length, minimumLength);
        Unmap(); // an earlier map (a joiner's earlier attempt) may be of another length
        Map(length);
    }

    private void Map(long length)
    {
        nint mapping = CreateFileMapping(_file, 0, PAGE_READWRITE, (uint)(length >> 32), unchecked((uint)length), null);
        if (mapping == 0) throw Failure("CreateFileMapping");
        // The view keeps the section alive; the mapping handle is not needed after it.
        void* view = MapViewOfFileEx(mapping, FILE_MAP_WRITE | FILE_MAP_READ, 0, 0, (nuint)length, null);
        int error = Marshal.GetLastPInvokeError();
        CloseHandle(mapping);
        if (view == null) throw new IOException($"MapViewOfFileEx failed on lock file {Path}: {Describe(error)}");
        _base = (byte*)view;
        _length = length;
    }

    private void Unmap()
    {
        if (_base == null) return;
        UnmapViewOfFile(_base);
        _base = null;
        _length = 0;
    }

    public bool? HeldMode(long offset)
    {
        lock (_held) return _held.TryGetValue(offset, out bool exclusive) ? exclusive : null;
    }

    public bool TryLock(long offset, bool exclusive) => Take(offset, exclusive, wait: false);

    public void Lock(long offset, bool exclusive) => Take(offset, exclusive, wait: true);

    private bool Take(long offset, bool exclusive, bool wait)
    {
        ObjectDisposedException.ThrowIf(_file == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        bool? held = HeldMode(offset);
        if (held == exclusive) return true;
        if (held == true)
        {
            // Downgrade: shared over our own exclusive, then drop the exclusive (removed first of the pair).
            if (Raw(offset, exclusive: false, wait: false))
            {
                RawUnlock(offset);
                Record(offset, false);
                return true;
            }
            RawUnlock(offset);
            Record(offset, null);
        }
        else if (held == false)
        {
            // Upgrade: Windows has none, so release and request; another holder may slip in between.
            RawUnlock(offset);
            Record(offset, null);
            if (!Raw(offset, exclusive: true, wait))
            {
                if (Raw(offset, exclusive: false, wait: false)) Record(offset, false);
                return false;
            }
            Record(offset, true);
            return true;
        }
        if (!Raw(offset, exclusive, wait)) return false;
        Record(offset, exclusive);
        return true;
    }

    public void Unlock(long offset)
    {
        ObjectDisposedException.ThrowIf(_file == 0, this);
        if (HeldMode(offset) is null) return;
        RawUnlock(offset);
        Record(offset, null);
    }

    private void Record(long offset, bool? exclusive)
    {
        lock (_held)
        {
            if (exclusive is bool e) _held[offset] = e;
            else _held.Remove(offset);
        }
    }

    private static LockOverlapped At(long offset)
    {
        long at = LockBase + offset;
        return new LockOverlapped { Offset = unchecked((uint)at), OffsetHigh = (uint)(at >> 32) };
    }

    /// <summary>One LockFileEx on the byte; false when another handle holds a conflicting lock (never when waiting).</summary>
    private bool Raw(long offset, bool exclusive, bool wait)
    {
        var overlapped = At(offset);
        uint flags = (wait ? 0 : LOCKFILE_FAIL_IMMEDIATELY) | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
        if (LockFileEx(_file, flags, 0, 1, 0, &overlapped)) return true;
        int error = Marshal.GetLastPInvokeError();
        if (!wait && error is ERROR_LOCK_VIOLATION or ERROR_SHARING_VIOLATION) return false;
        throw new IOException($"Cannot lock byte {offset} of lock file {Path}: {Describe(error)}");
    }

    private void RawUnlock(long offset)
    {
        var overlapped = At(offset);
        if (!UnlockFileEx(_file, 0, 1, 0, &overlapped))
            throw new IOException($"Cannot unlock byte {offset} of lock file {Path}: {Describe(Marshal.GetLastPInvokeError())}");
    }

    public bool FindLockedByOthers(long offset, long length, List<long> into, int limit)
    {
        ObjectDisposedException.ThrowIf(_file == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        // A range this handle can lock exclusively at once holds no other handle's lock. A byte this handle locks
        // itself refuses the attempt too, whoever else locks it, so it is reported (see ILockFile): nothing tells
        // this handle's lock there from another's on the same byte.
        lock (_search)
        {
            var todo = _search;
            todo.Clear();
            todo.Push((offset, offset + length));
            while (todo.TryPop(out var range))
            {
                var (a, b) = range;
                if (a >= b) continue;
                if (RawRange(a, b - a)) continue;
                if (b - a == 1)
                {
                    if (into.Count >= limit) return false;
                    into.Add(a);
                    continue;
                }
                long mid = a + (b - a) / 2;
                todo.Push((mid, b));
                todo.Push((a, mid));
            }
            return true;
        }
    }

    /// <summary>Whether this handle could lock [offset, offset + length) exclusively at once; the lock is undone at once.</summary>
    private bool RawRange(long offset, long length)
    {
        var overlapped = At(offset);
        uint low = unchecked((uint)length), high = (uint)(length >> 32);
        if (LockFileEx(_file, LOCKFILE_FAIL_IMMEDIATELY | LOCKFILE_EXCLUSIVE_LOCK, 0, low, high, &overlapped))
        {
            if (!UnlockFileEx(_file, 0, low, high, &overlapped))
                throw new IOException($"Cannot unlock bytes {offset} to {offset + length} of lock file {Path}: {Describe(Marshal.GetLastPInvokeError())}");
            return true;
        }
        int error = Marshal.GetLastPInvokeError();
        if (error is ERROR_LOCK_VIOLATION or ERROR_SHARING_VIOLATION) return false;
        throw new IOException($"Cannot query the locks on bytes {offset} to {offset + length} of lock file {Path}: {Describe(error)}");
    }

    public void Dispose()
    {
        if (_file == 0) return;
        // Windows releases a closed handle's locks "depending on available resources"; unlocking first makes
        // the release immediate for the others.
        long[] offsets;
        lock (_held) { offsets = [.. _held.Keys]; _held.Clear(); }
        foreach (long offset in offsets)
        {
            var overlapped = At(offset);
            _ = UnlockFileEx(_file, 0, 1, 0, &overlapped);
        }
        Unmap();
        CloseHandle(_file);
        _file = 0;
    }
}
