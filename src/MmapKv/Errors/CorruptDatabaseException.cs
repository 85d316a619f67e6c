namespace MmapKv;

/// <summary>
/// The file is not an MmapKv database, or it is damaged: a checksum, bound or structural check failed.
/// Nothing was read past the failed check.
/// </summary>
public class CorruptDatabaseException : MmapKvException
{
    /// <summary>Creates the exception for a problem not tied to one page.</summary>
    public CorruptDatabaseException(string message) : base(message) { }

    /// <summary>Creates the exception for a problem found on <paramref name="pageId"/>.</summary>
    public CorruptDatabaseException(long pageId, string message) : base($"page {pageId}: {message}") => PageId = pageId;

    /// <summary>The page where the damage was found, or null when it concerns the file as a whole.</summary>
    public long? PageId { get; }
}
