namespace MmapKv;

/// <summary>
/// An I/O call on the database file failed (for example msync or fsync returned EIO). When this is raised by a
/// commit, the commit's durability is unknown and the database refuses further writes until it is reopened;
/// reads of committed data keep working.
/// </summary>
public sealed class StorageFailedException : MmapKvException
{
    /// <summary>Creates the exception.</summary>
    public StorageFailedException(string message, int errorNumber = 0, Exception? inner = null) : base(message, inner)
        => ErrorNumber = errorNumber;

    /// <summary>The operating system's error number (errno), or 0 when unknown.</summary>
    public int ErrorNumber { get; }
}
