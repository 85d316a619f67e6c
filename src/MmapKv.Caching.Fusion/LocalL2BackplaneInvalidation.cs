using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane;
using ZiggyCreatures.Caching.Fusion.Events;
using ZiggyCreatures.Caching.Fusion.Plugins;

namespace MmapKv.Caching.Fusion;

/// <summary>
/// A FusionCache plugin for nodes whose distributed level is their own <see cref="MmapKvCache"/> file: when a
/// backplane notification for a key arrives from another node (a Set, Remove or Expire there), it expires the key
/// in this node's memory level and removes it from this node's file, so the next read here runs the factory
/// instead of finding the node's own, now stale, copy.
/// </summary>
/// <remarks>
/// <para>
/// FusionCache's backplane assumes a distributed level shared by every node: on a notification it only drops or
/// expires the entry in the receiving node's memory level (and for a Set first compares it with the distributed
/// level, which on this node still holds the old entry, so the memory level keeps it too). This plugin adds the
/// missing step through FusionCache's own API on the receiving node, both with
/// <see cref="FusionCacheEntryOptions.SkipBackplaneNotifications"/> (no echo to the other nodes): first
/// <c>Remove</c> of the distributed level only, which removes the key from the file under FusionCache's own
/// distributed key, then <c>Expire</c> of the memory level only, which expires the memory entry (kept as a
/// fail-safe fallback when fail-safe is on). Both run synchronously inside the event handler, which FusionCache
/// raises before it applies the message itself.
/// </para>
/// <para>
/// Turn on <see cref="FusionCacheOptions.EnableSyncEventHandlersExecution"/>: the handler then runs on
/// FusionCache's receiving thread, so the file's entry is gone before FusionCache rereads the file for the same
/// message. With handlers on the thread pool (FusionCache's default) the two race, and a reread that comes first
/// can put the old value back into memory after it was expired here, until the entry's duration ends.
/// </para>
/// <para>
/// Tag and Clear notifications (keys under <see cref="FusionCacheInternalStrings.TagCacheKeyPrefix"/>) are left to
/// FusionCache, which records them in the memory level only; docs/caching.md says what that means for the files.
/// </para>
/// <para>Add it to every node: <c>fusion.AddPlugin(new LocalL2BackplaneInvalidation())</c>, or
/// <c>services.AddFusionCache().WithPlugin(new LocalL2BackplaneInvalidation())</c>.</para>
/// </remarks>
public sealed class LocalL2BackplaneInvalidation : IFusionCachePlugin
{
    // The file first, then the memory level: once the file has no entry, a later reread by FusionCache finds nothing.
    private static readonly FusionCacheEntryOptions RemoveFromFileOnly = new()
    {
        SkipMemoryCacheWrite = true,
        SkipBackplaneNotifications = true,
        AllowBackgroundDistributedCacheOperations = false,
    };

    private static readonly FusionCacheEntryOptions ExpireInMemoryOnly = new()
    {
        SkipDistributedCacheRead = true,
        SkipDistributedCacheWrite = true,
        SkipBackplaneNotifications = true,
    };

    private readonly string? _cacheKeyPrefix;
    private readonly string _tagCacheKeyPrefix;
    private readonly ILogger _logger;
    private IFusionCache? _cache;

    /// <summary>Creates the plugin.</summary>
    /// <param name="cacheKeyPrefix">The cache's <see cref="FusionCacheOptions.CacheKeyPrefix"/>, if it has one:
    /// notifications carry prefixed keys, and <c>ExpireAsync</c> adds the prefix again.</param>
    /// <param name="tagCacheKeyPrefix">The cache's <see cref="FusionCacheInternalStrings.TagCacheKeyPrefix"/>, if changed.</param>
    /// <param name="logger">Where a failed removal is logged (at Warning).</param>
    public LocalL2BackplaneInvalidation(string? cacheKeyPrefix = null, string tagCacheKeyPrefix = FusionCacheInternalStrings.DefaultTagCacheKeyPrefix, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(tagCacheKeyPrefix);
        _cacheKeyPrefix = string.IsNullOrEmpty(cacheKeyPrefix) ? null : cacheKeyPrefix;
        _tagCacheKeyPrefix = tagCacheKeyPrefix;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Subscribes to the cache's backplane messages (FusionCache calls this from <c>AddPlugin</c>).</summary>
    public void Start(IFusionCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (Interlocked.CompareExchange(ref _cache, cache, null) is not null)
            throw new InvalidOperationException("A LocalL2BackplaneInvalidation serves one FusionCache; create one per cache.");
        cache.Events.Backplane.MessageReceived += OnMessageReceived;
    }

    /// <summary>Unsubscribes (FusionCache calls this from <c>RemovePlugin</c> and when disposed).</summary>
    public void Stop(IFusionCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        cache.Events.Backplane.MessageReceived -= OnMessageReceived;
        Interlocked.CompareExchange(ref _cache, null, cache);
    }

    // FusionCache raises the event for messages from other nodes only, before it applies the message itself: on its
    // receiving thread when EnableSyncEventHandlersExecution is on, else on the thread pool, where the two may
    // interleave. Either way the node ends with the file's entry gone and then the memory entry expired.
    private void OnMessageReceived(object? sender, FusionCacheBackplaneMessageEventArgs e)
    {
        var cache = Volatile.Read(ref _cache);
        var message = e.Message;
        if (cache is null || message?.CacheKey is not { } key) return;
        if (message.Action is not (BackplaneMessageAction.EntrySet or BackplaneMessageAction.EntryRemove or BackplaneMessageAction.EntryExpire)) return;
        if (_cacheKeyPrefix is not null)
        {
            if (!key.StartsWith(_cacheKeyPrefix, StringComparison.Ordinal)) return;
            key = key[_cacheKeyPrefix.Length..];
        }
        if (key.StartsWith(_tagCacheKeyPrefix, StringComparison.Ordinal)) return;
        Invalidate(cache, key);
    }

    // Synchronous, inside the handler: with EnableSyncEventHandlersExecution on, the file's entry is gone and the
    // memory entry expired before FusionCache applies the message, so its reread of the file finds nothing.
    private void Invalidate(IFusionCache cache, string key)
    {
        try
        {
            cache.Remove(key, RemoveFromFileOnly);
            cache.Expire(key, ExpireInMemoryOnly);
        }
        catch (ObjectDisposedException) { }
#pragma warning disable CA1031 // an event handler's failure must not be lost nor thrown into FusionCache's backplane loop
        catch (Exception ex) { LocalL2Log.RemoveFailed(_logger, key, ex); }
#pragma warning restore CA1031
    }
}
