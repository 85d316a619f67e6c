namespace MmapKv;

/// <summary>The file is an MmapKv database written in a format version this build cannot read.</summary>
public sealed class IncompatibleFormatException : CorruptDatabaseException
{
    /// <summary>Creates the exception.</summary>
    public IncompatibleFormatException(string message) : base(message) { }
}
