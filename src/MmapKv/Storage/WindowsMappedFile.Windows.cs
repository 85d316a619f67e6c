using System.Runtime.Versioning;

namespace MmapKv.Storage;

/// <summary>
/// The Windows storage backend. Not implemented yet: every entry point refuses with the same
/// <see cref="PlatformNotSupportedException"/>, so no caller can mistake it for a working store.
/// </summary>
[SupportedOSPlatform("windows")]
internal static class WindowsMappedFile
{
    private const string NotYet = "MmapKv's Windows storage backend is not implemented yet; Linux and macOS are supported.";

    /// <summary>See <see cref="MappedStorage.Open"/>.</summary>
    public static IStorage Open() => throw new PlatformNotSupportedException(NotYet);

    /// <summary>See <see cref="MappedStorage.TryPublish"/>.</summary>
    public static bool TryPublish() => throw new PlatformNotSupportedException(NotYet);
}
