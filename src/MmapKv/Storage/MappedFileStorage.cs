namespace MmapKv.Storage;

/// <summary>
/// A database file reserved in the address space once, at its full capacity, and mapped shared read/write.
/// Platform calls live in the <c>.Unix.cs</c> (and, later, <c>.Windows.cs</c>) parts.
/// </summary>
internal sealed unsafe partial class MappedFileStorage : IStorage
{
    private readonly string _path;
    private byte* _base;
    private long _length;
    private readonly long _capacity;

    public byte* Base => _base;
    public long Capacity => _capacity;
    public long Length => Volatile.Read(ref _length);
    public bool IsReadOnly { get; }

    /// <summary>
    /// Opens (or, with <paramref name="createNew"/>, creates exclusively) and maps a file. Errors name
    /// <paramref name="reportAs"/> when given: the user's path, when <paramref name="path"/> is an internal temporary file.
    /// </summary>
    public static MappedFileStorage Open(string path, bool readOnly, long capacity, bool createNew, int createMode, string? reportAs = null)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("MmapKv's Windows storage backend is not implemented yet; Linux and macOS are supported.");
        return new MappedFileStorage(path, readOnly, capacity, createNew, createMode, reportAs ?? path);
    }

    public override string ToString() => _path;
}
