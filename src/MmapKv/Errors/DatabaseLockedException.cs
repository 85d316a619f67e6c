namespace MmapKv;

/// <summary>Another process, or another KvDatabase in this process, has the file open.</summary>
public sealed class DatabaseLockedException : MmapKvException
{
    /// <summary>Creates the exception.</summary>
    public DatabaseLockedException(string message) : base(message) { }
}
