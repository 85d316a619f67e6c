namespace MmapKv.Storage;

/// <summary>
/// The one place that chooses the storage implementation for the running OS. Everything above it sees only
/// <see cref="IStorage"/>. Platform code lives in the <c>*.Unix.cs</c> and <c>*.Windows.cs</c> files.
/// </summary>
internal static class MappedStorage
{
    /// <summary>
    /// Opens (or, with <paramref name="createNew"/>, creates exclusively) and maps a file, reserving
    /// <paramref name="capacity"/> bytes of address space. Errors name <paramref name="reportAs"/> when given: the
    /// user's path, when <paramref name="path"/> is an internal temporary file.
    /// </summary>
    /// <remarks>
    /// The file lock: <paramref name="exclusiveLock"/> true excludes every other opener (<see cref="KvOptions.Exclusive"/>,
    /// and files being created); false shares with every other non-exclusive opener (the multi-process mode, whose
    /// coordination is the lock file's). Null: exclusive for read-write, shared for read-only.
    /// </remarks>
    public static IStorage Open(string path, bool readOnly, long capacity, bool createNew, int createMode, string? reportAs = null, bool? exclusiveLock = null)
    {
        bool exclusive = exclusiveLock ?? !readOnly;
        if (OperatingSystem.IsWindows()) return new WindowsMappedFile(path, readOnly, capacity, createNew, reportAs ?? path, exclusive);
        return new UnixMappedFile(path, readOnly, capacity, createNew, createMode, reportAs ?? path, exclusive);
    }

    /// <summary>The error for a file another process grew past this process's reservation.</summary>
    public static MmapKvException OutgrewMaxSize(string path, long length, long capacity) => new(
        $"{path} has grown to {length} bytes in another process, past this process's MaxSize ({capacity} bytes); " +
        "reopen the database with a larger KvOptions.MaxSize.");

    /// <summary>
    /// Publishes a fully written file under its final name, failing if the name exists; then makes the directory
    /// entry durable. Returns false when another process published first.
    /// </summary>
    public static bool TryPublish(string tempPath, string finalPath)
    {
        if (OperatingSystem.IsWindows()) return WindowsMappedFile.TryPublish(tempPath, finalPath);
        return UnixMappedFile.TryPublish(tempPath, finalPath);
    }
}
