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
    /// <exception cref="PlatformNotSupportedException">On Windows, until its backend lands.</exception>
    public static IStorage Open(string path, bool readOnly, long capacity, bool createNew, int createMode, string? reportAs = null)
    {
        if (OperatingSystem.IsWindows()) return WindowsMappedFile.Open();
        return new UnixMappedFile(path, readOnly, capacity, createNew, createMode, reportAs ?? path);
    }

    /// <summary>
    /// Publishes a fully written file under its final name, failing if the name exists; then makes the directory
    /// entry durable. Returns false when another process published first.
    /// </summary>
    public static bool TryPublish(string tempPath, string finalPath)
    {
        if (OperatingSystem.IsWindows()) return WindowsMappedFile.TryPublish();
        return UnixMappedFile.TryPublish(tempPath, finalPath);
    }
}
