using Microsoft.Extensions.Logging;

namespace MmapKv.Caching.Fusion;

/// <summary>The plugin's log messages (source-generated).</summary>
internal static partial class LocalL2Log
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Warning,
        Message = "A backplane notification for {Key} arrived, but removing the key from this node's distributed cache failed; the node may serve its old copy until the entry expires.")]
    public static partial void RemoveFailed(ILogger logger, string key, Exception exception);
}
