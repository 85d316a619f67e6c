namespace MmapKv;

/// <summary>
/// The database could not grow: the disk is full, a quota was hit, or KvOptions.MaxSize was reached.
/// The write transaction that needed the space is aborted; everything committed before it is intact, and the
/// database stays open for reads and later writes.
/// </summary>
public sealed class DatabaseFullException : MmapKvException
{
    /// <summary>Creates the exception.</summary>
    public DatabaseFullException(string message, Exception? inner = null) : base(message, inner) { }
}
