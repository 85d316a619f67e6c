using Microsoft.Extensions.Logging;

namespace MmapKv.Caching;

/// <summary>The cache's log messages (source-generated, no allocation when the level is off).</summary>
internal static partial class CacheLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error,
        Message = "The cache file {Path} is damaged ({Reason}); it was moved to {MovedTo} and the cache starts empty.")]
    public static partial void CorruptFileMovedAside(ILogger logger, string path, string movedTo, string reason, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Size limit {SizeLimit} bytes reached: evicted {Count} entries ({Bytes} bytes), soonest-expiring first.")]
    public static partial void Evicted(ILogger logger, long sizeLimit, int count, long bytes);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "An entry of {Bytes} bytes for key {Key} did not fit in the cache even after evicting every other entry; it was not stored.")]
    public static partial void EntryDropped(ILogger logger, string key, long bytes);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug,
        Message = "Expiration sweep removed {Count} entries in {Batches} transactions ({ElapsedMs} ms).")]
    public static partial void SweepDone(ILogger logger, int count, int batches, long elapsedMs);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "The expiration sweep failed.")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information,
        Message = "Opened cache file {Path}: {Count} entries, {Bytes} bytes.")]
    public static partial void Opened(ILogger logger, string path, long count, long bytes);
}
