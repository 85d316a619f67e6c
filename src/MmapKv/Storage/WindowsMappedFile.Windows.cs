using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static MmapKv.Storage.Kernel32;

namespace MmapKv.Storage;

/// <summary>
/// The Windows storage: a database file mapped into one address range reserved at open for the whole capacity
/// (<see cref="WindowsAddressRange"/>), through kernel32 (<see cref="Kernel32"/>). Created only through
/// <see cref="MappedStorage.Open"/>. docs/durability.md §13 gives the flush mapping and what is verified where.
/// </summary>
/// <remarks>
/// How it keeps the promises of <see cref="IStorage"/>:
/// <list type="bullet">
/// <item>S1: the range never moves; growth adds views after the last one and never unmaps any.</item>
/// <item>S2: the file is extended with its clusters allocated (<c>FileAllocationInfo</c>, then
/// <c>FileEndOfFileInfo</c>) after a free-space check, before the view over the new part is mapped (the commit's
/// <c>FlushFileBuffers</c> makes the length durable); no page past the file's end is ever mapped, so no access can raise
/// <c>EXCEPTION_IN_PAGE_ERROR</c> for lack of space. Lengths are rounded up to the allocation granularity (64 KiB),
/// where views must start, except at the capacity.</item>
/// <item>S3 and S5: <see cref="Flush"/> is <c>FlushViewOfFile</c> over the range and then <c>FlushFileBuffers</c>;
/// <see cref="StartWriteback"/> is <c>FlushViewOfFile</c> alone; <see cref="SyncData"/> is <c>FlushFileBuffers</c>
/// alone. Windows does not let <c>FlushFileBuffers</c> see stores through a view that no <c>FlushViewOfFile</c>
/// handed to the file system, so on Windows S5 covers only the ranges passed to <see cref="StartWriteback"/> or
/// <see cref="Flush"/> before it; the commit pipeline passes every range it needs durable (docs/durability.md §13).</item>
/// <item>The lock is <c>LockFileEx</c> on one byte far past any file's end, so it never blocks a read or write of the
/// file through another handle (Windows byte-range locks are mandatory for ReadFile and WriteFile).</item>
/// </list>
/// </remarks>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsMappedFile : IStorage
{
    /// <summary>The locked byte: past the end of every file (the largest file NTFS allows is 2^64 - 64 KiB).</summary>
    private const long LockOffset = long.MaxValue - 1;

    /// <summary>Set by tests only: when false, placeholders are not tried, so the fallback runs where they exist.</summary>
    internal static bool UsePlaceholders = true;

    private readonly string _path;
    private readonly string _directory;
    private readonly WindowsAddressRange _range;
    private readonly long _capacity;
    private long _length;
    private nint _file;
    private bool _locked;
    private bool _alignPending;

    public byte* Base => _range.Base;
    public long Capacity => _capacity;
    public long Length => Volatile.Read(ref _length);
    public bool IsReadOnly { get; }

    /// <summary>Whether the address range is held by placeholders, rather than the release-and-map fallback.</summary>
    internal bool UsesPlaceholders => _range.UsesPlaceholders;

    public override string ToString() => _path;

    /// <summary>See <see cref="MappedStorage.Open"/>. Its Unix creation mode has no meaning here: the file gets the directory's ACL.</summary>
    public WindowsMappedFile(string path, bool readOnly, long capacity, bool createNew, string reportAs, bool exclusiveLock)
    {
        _path = reportAs;
        _directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? path;
        IsReadOnly = readOnly;
        // Share everything: the lock, not the share mode, keeps a second writer out, and a share mode would also
        // refuse tools and tests that only read the file, or rename and delete it, as the Unix backend allows.
        _file = CreateFile(path, readOnly ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0,
            createNew ? CREATE_NEW : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_RANDOM_ACCESS, 0);
        if (_file == InvalidHandle) throw OpenError(Marshal.GetLastPInvokeError(), path, reportAs, createNew);
        try
        {
            // A device or pipe opened by name (\\.\pipe\..., CON, NUL) is not a file a section can map.
            if (GetFileType(_file) != FILE_TYPE_DISK) throw NotRegular(reportAs, "a device or a pipe");
            TakeLock(reportAs, exclusive: exclusiveLock);
            if (!GetFileSizeEx(_file, out long length)) throw Failure("GetFileSizeEx");
            _length = length;
            _capacity = Math.Max(capacity, length);
            // Read-only maps never grow, so they need no placeholders: the whole file is one view.
            _range = WindowsAddressRange.Reserve(_capacity, !readOnly, tryPlaceholders: UsePlaceholders && !readOnly, reportAs);
            try
            {
                // A file written elsewhere (Linux cuts it to whole pages at close) may end off the granularity, where
                // the next view must start. It is rounded up at the first store (AlignBeforeFirstWrite), not here:
                // opening a file that turns out not to be a database must not change it.
                _alignPending = !readOnly && length % WindowsAddressRange.Granularity != 0 && length < _capacity;
                MapTo(length);
            }
            catch
            {
                _range.Dispose();
                throw;
            }
        }
        catch
        {
            ReleaseFile();
            throw;
        }
    }

    private static LockOverlapped LockRegion() => new() { Offset = unchecked((uint)LockOffset), OffsetHigh = (uint)(LockOffset >> 32) };

    private static long RoundUp(long bytes) => (bytes + WindowsAddressRange.Granularity - 1) / WindowsAddressRange.Granularity * WindowsAddressRange.Granularity;

    /// <summary>The exception for a failed CreateFile, in the type a .NET caller expects for that cause (as on Unix).</summary>
    private static Exception OpenError(int error, string path, string reportAs, bool creating)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(reportAs)) ?? reportAs;
        switch (error)
        {
            case ERROR_FILE_NOT_FOUND:
                return new FileNotFoundException($"Database file not found: {reportAs}", reportAs);
            case ERROR_PATH_NOT_FOUND:
                return creating
                    ? new DirectoryNotFoundException($"Cannot create database file {reportAs}: the directory {dir} does not exist.")
                    : new FileNotFoundException($"Database file not found: {reportAs}", reportAs);
            case ERROR_ACCESS_DENIED:
                // CreateFile refuses a directory with access denied.
                if (Directory.Exists(path)) return NotRegular(reportAs, "a directory");
                return new UnauthorizedAccessException($"Access denied to database file {reportAs}: {Describe(error)}");
            case ERROR_WRITE_PROTECT:
                return new IOException($"{reportAs} is on a write-protected medium; open it with KvOptions.ReadOnly = true.");
            case ERROR_SHARING_VIOLATION:
                return new IOException($"Cannot open {reportAs}: another program holds it open without sharing ({Describe(error)}).");
            case ERROR_FILENAME_EXCED_RANGE:
                return new PathTooLongException($"Cannot open {reportAs}: {Describe(error)}");
            default:
                return new IOException($"Cannot open {reportAs}: {Describe(error)}");
        }
    }

    private static IOException NotRegular(string path, string what) => new($"{path} is {what}; an MmapKv database must be a regular file.");

    /// <summary>
    /// Takes the lock, retrying briefly like the Unix backend (a lock can be held for a moment by a handle another
    /// process is about to close). Locks belong to the handle, so a second KvDatabase in this process is refused too.
    /// </summary>
    private void TakeLock(string path, bool exclusive)
    {
        var deadline = Environment.TickCount64 + 250;
        var overlapped = LockRegion();
        uint flags = LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
        while (!LockFileEx(_file, flags, 0, 1, 0, &overlapped))
        {
            int error = Marshal.GetLastPInvokeError();
            if (error != ERROR_LOCK_VIOLATION && error != ERROR_SHARING_VIOLATION)
                throw new IOException($"Cannot lock {path}: {Describe(error)}");
            if (Environment.TickCount64 >= deadline)
                throw new DatabaseLockedException(exclusive
                    ? $"{path} is open in another process or another KvDatabase instance (KvOptions.Exclusive, or a file being created, needs it to be the only opener)."
                    : $"{path} is open with KvOptions.Exclusive = true in another process or another KvDatabase instance.");
            Thread.Sleep(2);
        }
        _locked = true;
    }

    private StorageFailedException Failure(string call)
    {
        int error = Marshal.GetLastPInvokeError();
        return new StorageFailedException($"{call} failed on {_path}: {Describe(error)}", error);
    }

    private static bool IsNoSpace(int error) =>
        error is ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL or ERROR_DISK_QUOTA_EXCEEDED;

    /// <summary>
    /// Extends the file to <paramref name="newLength"/> with its space allocated. The length becomes durable with the
    /// commit's FlushFileBuffers (S2). On failure the file is cut back to its old length and nothing is mapped.
    /// </summary>
    private void ExtendFile(long newLength)
    {
        if (!GetFileSizeEx(_file, out long old)) throw Failure("GetFileSizeEx");
        if (newLength <= old) return;
        // A cheap early answer on a full volume. It cannot see space others take after it: the allocation below is
        // what makes the space real.
        if (GetDiskFreeSpaceEx(_directory, out ulong free, out _, out _) && free < (ulong)(newLength - old))
            throw new DatabaseFullException($"No space to grow {_path} to {newLength} bytes: {free} bytes free on its volume.");
        int error = Allocate(old, newLength);
        if (error != 0)
        {
            // Give back a partial allocation (as on Unix), so a smaller retry can use the space.
            long back = old;
            _ = SetFileInformationByHandle(_file, FileEndOfFileInfo, &back, sizeof(long));
            _ = SetFileInformationByHandle(_file, FileAllocationInfo, &back, sizeof(long));
            if (IsNoSpace(error))
                throw new DatabaseFullException($"No space to grow {_path} to {newLength} bytes: {Describe(error)}");
            throw new StorageFailedException($"Extending {_path} to {newLength} bytes failed: {Describe(error)}", error);
        }
    }

    /// <summary>
    /// Gives the file real clusters for <c>[old, newLength)</c> and sets its end there. NTFS allocates on
    /// <c>FileAllocationInfo</c> (and fails with ERROR_DISK_FULL). Where that call is not offered (Wine: error 120;
    /// its end-of-file call is an ftruncate, which leaves a hole), the range is written with zeros, which allocates
    /// on every file system, or fails for lack of space, before any view covers it. Returns 0 or the Win32 error.
    /// </summary>
    private int Allocate(long old, long newLength)
    {
        long size = newLength;
        if (SetFileInformationByHandle(_file, FileAllocationInfo, &size, sizeof(long)))
            return SetFileInformationByHandle(_file, FileEndOfFileInfo, &size, sizeof(long)) ? 0 : Marshal.GetLastPInvokeError();
        int error = Marshal.GetLastPInvokeError();
        if (error is not (ERROR_CALL_NOT_IMPLEMENTED or ERROR_INVALID_FUNCTION or ERROR_INVALID_PARAMETER)) return error;
        const int Block = 1 << 20;
        byte* zeros = (byte*)NativeMemory.AllocZeroed(Block);
        try
        {
            for (long at = old; at < newLength; at += Block)
            {
                uint bytes = (uint)Math.Min(Block, newLength - at);
                var where = new LockOverlapped { Offset = unchecked((uint)at), OffsetHigh = (uint)(at >> 32) };
                if (!WriteFile(_file, zeros, bytes, out uint written, &where)) return Marshal.GetLastPInvokeError();
                if (written != bytes) return ERROR_DISK_FULL;
            }
            return 0;
        }
        finally
        {
            NativeMemory.Free(zeros);
        }
    }

    /// <summary>Maps the file up to <paramref name="length"/> with one more view, of a section of that size.</summary>
    private void MapTo(long length)
    {
        if (length <= _range.Mapped) return;
        nint section = CreateSection(length);
        try
        {
            _range.Map(section, length, _path);
        }
        finally
        {
            CloseHandle(section); // the view holds the section
        }
    }

    private nint CreateSection(long length)
    {
        nint section = CreateFileMapping(_file, 0, IsReadOnly ? PAGE_READONLY : PAGE_READWRITE,
            (uint)((ulong)length >> 32), (uint)length, null);
        if (section != 0) return section;
        int error = Marshal.GetLastPInvokeError();
        if (error is ERROR_NOT_ENOUGH_MEMORY or ERROR_COMMITMENT_LIMIT)
            throw new DatabaseFullException($"Cannot map {_path} at {length} bytes: {Describe(error)}");
        throw new IOException($"CreateFileMapping failed on {_path}: {Describe(error)}");
    }

    private readonly object _coverGate = new();

    public void Cover(long length) => Cover(length, opening: false, isDatabase: false);

    public void CoverAtOpen(long length, bool isDatabase) => Cover(length, opening: true, isDatabase);

    private void Cover(long length, bool opening, bool isDatabase)
    {
        lock (_coverGate)
        {
            if (opening && isDatabase && _alignPending) AlignBeforeFirstWrite(); // its first store would, with spans out
            if (!GetFileSizeEx(_file, out long actual)) throw Failure("GetFileSizeEx");
            // Also when the length asked for fits: a writer must never work from a length shorter than the file's.
            if (actual > _capacity) throw MappedStorage.OutgrewMaxSize(_path, actual, _capacity);
            if (actual < length) Corrupt.Throw($"{_path} is {actual} bytes long, but a commit of another process uses {length}");
            // Views end on the granularity, except at the capacity: map what the other process allocated.
            long target = Math.Min(actual, _capacity);
            if (target < _capacity) target = Math.Max(length, target / WindowsAddressRange.Granularity * WindowsAddressRange.Granularity);
            if (target > _range.Mapped && _range.Mapped % WindowsAddressRange.Granularity != 0) ExtendLastView(target, opening);
            else MapTo(target);
            Volatile.Write(ref _length, target);
        }
    }

    /// <summary>
    /// The file was opened at a length off the granularity (one created or cut elsewhere, or a new file before its
    /// creator's first store), so the next view cannot start where the last ends: the last view is replaced by a
    /// longer one, at the same address. Only at open, when no span into it exists.
    /// </summary>
    private void ExtendLastView(long target, bool opening)
    {
        if (!opening)
            throw new MmapKvException(
                $"{_path} was {_range.Mapped} bytes long when this process opened it, off the {WindowsAddressRange.Granularity}-byte " +
                "allocation granularity, and another process has grown it since: the new part can only be mapped by replacing " +
                "a view that this process's transactions may be reading. Close the database and open it again.");
        nint section = CreateSection(target);
        try
        {
            _range.ExtendLast(section, target, _path);
        }
        finally
        {
            CloseHandle(section);
        }
        if (target % WindowsAddressRange.Granularity == 0) _alignPending = false; // what the first store would do
    }

    public void Grow(long newLength)
    {
        long old = _length;
        if (newLength <= old) return;
        if (newLength > _capacity)
            throw new DatabaseFullException($"The database would need {newLength} bytes but MaxSize is {_capacity} bytes.");
        if (_alignPending) AlignBeforeFirstWrite(); // not reached through KvDatabase: its open writes first
        if (newLength <= _length) return;
        // Whole granules, so that the next view can start where this one ends; at the capacity, exactly that.
        long target = Math.Min(RoundUp(newLength), _capacity);
        ExtendFile(target);
        MapTo(target);
        Volatile.Write(ref _length, target);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (_alignPending) AlignBeforeFirstWrite();
        if (offset < 0 || offset + data.Length > _length) throw new ArgumentOutOfRangeException(nameof(offset));
        data.CopyTo(new Span<byte>(Base + offset, data.Length));
    }

    /// <summary>
    /// Rounds a file that ends off the granularity up to it (allocated, like a growth) and replaces its last view
    /// by one over the longer file, so that later growth can add views. The old view is unmapped meanwhile, which
    /// is safe only while no span into the map exists: the first store of a read-write open is the open's own
    /// meta rewrite (docs/durability.md §6: the chosen record is made durable before the database is built), and
    /// the meta was validated by then, so a file that is not a database is never changed.
    /// </summary>
    private void AlignBeforeFirstWrite()
    {
        long target = Math.Min(RoundUp(_length), _capacity);
        ExtendFile(target);
        nint section = CreateSection(target);
        try
        {
            _range.ExtendLast(section, target, _path);
        }
        finally
        {
            CloseHandle(section);
        }
        _alignPending = false;
        Volatile.Write(ref _length, target);
    }

    public void VerifyLength()
    {
        if (!GetFileSizeEx(_file, out long actual)) throw Failure("GetFileSizeEx");
        if (actual < Volatile.Read(ref _length))
            Corrupt.Throw($"{_path} was truncated to {actual} bytes by another process while open (expected {_length}); close and reopen it.");
    }

    /// <summary>
    /// Does nothing: Windows refuses to cut a file while a section of it exists (ERROR_USER_MAPPED_FILE), and the
    /// views stay until <see cref="Dispose"/>. The space allocated ahead stays in the file, as after a crash; the
    /// next open uses it for growth.
    /// </summary>
    public void Shrink(long newLength)
    {
    }

    public void Flush(long offset, long length)
    {
        if (length <= 0) return;
        int error = _range.FlushViews(offset, length);
        if (error != 0) throw new StorageFailedException($"FlushViewOfFile failed on {_path}: {Describe(error)}", error);
        if (!FlushFileBuffers(_file)) throw Failure("FlushFileBuffers");
    }

    public void StartWriteback(long offset, long length)
    {
        // FlushViewOfFile hands the dirty pages of the views to the file system and waits for the writes, but does
        // not flush the device cache: that is SyncData's one FlushFileBuffers.
        int error = _range.FlushViews(offset, length);
        if (error != 0) throw new StorageFailedException($"FlushViewOfFile failed on {_path}: {Describe(error)}", error);
    }

    public void SyncData()
    {
        if (!FlushFileBuffers(_file)) throw Failure("FlushFileBuffers");
    }

    public void Sync()
    {
        // Everything written so far: every view, then the file (data, length and the device cache).
        Flush(0, _range.Mapped);
    }

    public void CloseFile()
    {
        // Only the lock goes: that is what lets the file be opened again at once (every share mode is granted).
        // The handle stays until Dispose, because Flush stays usable until then and FlushFileBuffers needs it;
        // the views keep the file open until then anyway.
        if (!_locked) return;
        var overlapped = LockRegion();
        UnlockFileEx(_file, 0, 1, 0, &overlapped);
        _locked = false;
    }

    private void ReleaseFile()
    {
        CloseFile();
        if (_file != 0 && _file != InvalidHandle) CloseHandle(_file);
        _file = 0;
    }

    public void Dispose()
    {
        if (_file == 0) return;
        ReleaseFile();
        _range.Dispose();
    }

    /// <summary>
    /// Publishes a fully written file under its final name, failing if the name exists (MoveFileEx without
    /// MOVEFILE_REPLACE_EXISTING), written through to disk. Returns false when another process published first.
    /// </summary>
    public static bool TryPublish(string tempPath, string finalPath)
    {
        if (MoveFileEx(tempPath, finalPath, MOVEFILE_WRITE_THROUGH)) return true;
        int error = Marshal.GetLastPInvokeError();
        File.Delete(tempPath);
        if (error is ERROR_ALREADY_EXISTS or ERROR_FILE_EXISTS) return false;
        throw new IOException($"Cannot create {finalPath}: {Describe(error)}");
    }
}
