namespace MmapKv.Storage;

/// <summary>
/// The lock file beside a database (<c>&lt;database&gt;-lock</c>) as the OS offers it: a small file mapped shared
/// read/write into every process that opens the database, and one-byte locks on it that the kernel releases when
/// the holder dies. What the bytes and the lock offsets mean is the engine's (the multi-process protocol); this
/// type only gives the OS operations, with errors that name the path. Created by <see cref="LockFile.Open"/>.
/// </summary>
/// <remarks>
/// <para>Lock ownership: a lock belongs to this object (one open file description on Linux, one handle on
/// Windows), not to the process or the thread. Two instances in one process conflict like two processes; the
/// threads of one process that share an instance share its locks. The kernel drops every lock when the instance
/// is disposed or the process dies, however it dies.</para>
/// <para>Lock state per offset is one of: none, shared, exclusive. Taking the mode already held does nothing (it
/// never stacks); taking the other mode converts (see <see cref="ConvertsAtomically"/>). Offsets are small
/// non-negative numbers (the engine keeps them below one page); they need not lie inside the file.</para>
/// <para>Not thread-safe for one offset: two threads locking and unlocking the same offset of one instance at once
/// get no defined result. Different offsets may be used from different threads.</para>
/// </remarks>
internal unsafe interface ILockFile : IDisposable
{
    /// <summary>The lock file's path, as errors name it.</summary>
    string Path { get; }

    /// <summary>The first mapped byte; null until <see cref="Resize"/> or <see cref="MapExisting"/>.</summary>
    /// <remarks>Valid until the next <see cref="Resize"/> (which may move it) or <see cref="IDisposable.Dispose"/>.</remarks>
    byte* Base { get; }

    /// <summary>The number of bytes mapped at <see cref="Base"/>; 0 until mapped.</summary>
    long Length { get; }

    /// <summary>The file's current length on disk (it may differ from <see cref="Length"/> while unmapped).</summary>
    long FileLength { get; }

    /// <summary>
    /// Whether an upgrade (shared to exclusive) of a held lock is one atomic step. True on Linux (OFD locks): an
    /// upgrade that cannot be granted leaves the shared lock held, and nobody can slip in between. False on
    /// Windows: an upgrade releases the shared lock first, so another holder may take the byte (even exclusively)
    /// in between; after a successful upgrade the caller must re-read everything the shared lock protected, and
    /// after a failed one it holds what <see cref="HeldMode"/> reports (see the Windows class). A downgrade
    /// (exclusive to shared) is atomic and never waits on both.
    /// </summary>
    bool ConvertsAtomically { get; }

    /// <summary>
    /// Sets the file's length to <paramref name="length"/> bytes (new bytes read as zero, with their space
    /// allocated so a store through the map cannot fault on a full disk) and maps all of it shared read/write,
    /// replacing any earlier map (<see cref="Base"/> may move). Only for the process that holds the engine's
    /// "sole opener" lock: another process's map of the old length would not grow, and a shorter file would fault
    /// in processes that map past its end.
    /// </summary>
    void Resize(long length);

    /// <summary>
    /// Maps the file at its current length, shared read/write, for a process that is not the sole opener (the
    /// file was sized by whoever was), replacing any earlier map (<see cref="Base"/> may move). Throws
    /// <see cref="InvalidDataException"/> naming the path when the file is shorter than
    /// <paramref name="minimumLength"/> (cut, or not an MmapKv lock file); an earlier map then stays.
    /// </summary>
    void MapExisting(long minimumLength);

    /// <summary>Takes (or converts to) a shared or exclusive lock on the byte at <paramref name="offset"/> if it is free; false if another holder has it.</summary>
    bool TryLock(long offset, bool exclusive);

    /// <summary>Takes (or converts to) a shared or exclusive lock on the byte at <paramref name="offset"/>, waiting as long as it takes.</summary>
    /// <remarks>
    /// The kernel does not detect deadlocks between these locks. In particular two holders of a shared lock that
    /// both wait here to upgrade it wait forever on Linux (each keeps its shared lock while it waits); use
    /// <see cref="TryLock"/> to upgrade, or make sure only one holder can be upgrading.
    /// </remarks>
    void Lock(long offset, bool exclusive);

    /// <summary>Releases the lock on the byte at <paramref name="offset"/>; nothing happens if none is held.</summary>
    void Unlock(long offset);

    /// <summary>What this instance holds at <paramref name="offset"/>: null (nothing), false (shared) or true (exclusive).</summary>
    bool? HeldMode(long offset);

    /// <summary>
    /// Adds to <paramref name="into"/>, in no particular order, every byte offset in
    /// [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) on which another holder has
    /// a lock of either mode. This instance's own locks are not reported on Linux; on Windows they are (see
    /// remarks), so a caller must treat a reported byte as "maybe another's", never the reverse. Returns false, with
    /// <paramref name="into"/> holding an arbitrary part of the answer, when more than <paramref name="limit"/> bytes
    /// are locked (another program may lock whole ranges; the caller then assumes the worst).
    /// </summary>
    /// <remarks>
    /// A lock taken or released while this runs may or may not be reported; every lock held throughout is. On Linux
    /// this asks the kernel (F_OFD_GETLK), which takes no lock. Windows has no such query: a range is known free by
    /// locking it exclusively, failing at once, and unlocking it, so a holder that tries to lock a byte of that range
    /// in the meantime may fail and should try again. A byte this handle locks itself refuses that attempt too, and
    /// nothing tells whether another handle locks it as well, so it is reported.
    /// </remarks>
    bool FindLockedByOthers(long offset, long length, List<long> into, int limit);
}

/// <summary>Chooses the lock-file implementation for the running OS.</summary>
internal static class LockFile
{
    /// <summary>Whether this OS has the locks a lock file needs: 64-bit Linux (OFD locks) and Windows.</summary>
    public static bool IsSupported => OperatingSystem.IsWindows() || (OperatingSystem.IsLinux() && IntPtr.Size == 8);

    /// <summary>
    /// <see cref="ILockFile.MapExisting"/>'s check, the same on every OS: a file shorter than
    /// <paramref name="minimumLength"/> (or empty) was cut, or is not an MmapKv lock file.
    /// </summary>
    internal static void CheckMappable(string path, long length, long minimumLength)
    {
        if (length < minimumLength || length == 0)
            throw new InvalidDataException(
                $"Lock file {path} is {length} bytes long, less than the {Math.Max(minimumLength, 1)} bytes of an MmapKv lock file: " +
                "it was cut by another program, or is not an MmapKv lock file.");
    }

    /// <summary>The lock file's name for a database: the database path with <c>-lock</c> appended.</summary>
    public static string PathFor(string databasePath) => databasePath + "-lock";

    /// <summary>
    /// Opens the lock file at <paramref name="lockPath"/>, creating it if missing, and checks it may be trusted.
    /// Nothing is mapped yet: the caller takes its locks, then calls <see cref="ILockFile.Resize"/> (sole opener)
    /// or <see cref="ILockFile.MapExisting"/>.
    /// </summary>
    /// <param name="lockPath">The lock file, normally <see cref="PathFor"/> of the database.</param>
    /// <param name="databasePath">The database file, which must exist: its owner and mode bound the lock file's (Unix).</param>
    /// <param name="createMode">Unix permission bits for a new lock file (<see cref="KvOptions.CreateMode"/>), narrowed
    /// to the database file's own bits so the new file passes the check below; the umask applies on top. Ignored on
    /// Windows, where the file gets its directory's ACL.</param>
    /// <param name="readOnlyDatabase">The database is opened read-only. The lock file is still opened read/write (a
    /// reader registers itself in it); this only shapes the error when that is impossible.</param>
    /// <remarks>
    /// Unix refusals (all before anything is mapped or locked): a symbolic link at the path
    /// (<see cref="UnauthorizedAccessException"/>; it is never followed), anything but a regular file
    /// (<see cref="IOException"/>), a file with more than one hard link, another owner than the database file's,
    /// or a permission bit the database file does not have (<see cref="UnauthorizedAccessException"/>). A new file
    /// created by another user than the database's owner (root, say) is given to that owner, or refused and removed
    /// if that is not allowed. macOS: <see cref="PlatformNotSupportedException"/> (no open-file-description locks).
    /// </remarks>
    public static ILockFile Open(string lockPath, string databasePath, int createMode, bool readOnlyDatabase)
    {
        ArgumentException.ThrowIfNullOrEmpty(lockPath);
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        if ((createMode & ~0x1FF) != 0)
            throw new ArgumentOutOfRangeException(nameof(createMode), createMode, "The creation mode holds permission bits only (0 to 0777).");
        if (OperatingSystem.IsWindows()) return new WindowsLockFile(lockPath, readOnlyDatabase);
        if (OperatingSystem.IsMacOS())
            // flock(2) locks the whole file, so one file gives one lock, and BSD fcntl locks belong to the process
            // (a second instance in one process would not conflict, and closing any descriptor drops them all).
            throw new PlatformNotSupportedException(
                $"Cannot open {lockPath}: shared multi-process mode is not supported on macOS yet; open with KvOptions.Exclusive = true.");
        if (!OperatingSystem.IsLinux() || IntPtr.Size != 8)
            throw new PlatformNotSupportedException(
                $"Cannot open {lockPath}: shared multi-process mode needs 64-bit Linux or Windows; open with KvOptions.Exclusive = true.");
        return new UnixLockFile(lockPath, databasePath, createMode, readOnlyDatabase);
    }
}

/// <summary>
/// The lock file cannot be opened for writing because its file system is mounted read-only. Nothing can write the
/// database there either, so a read-only open goes on without a lock file.
/// </summary>
internal sealed class ReadOnlyFileSystemException(string message) : IOException(message);
