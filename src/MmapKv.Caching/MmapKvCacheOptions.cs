namespace MmapKv.Caching;

/// <summary>Configuration of an <see cref="MmapKvCache"/>. Checked when the cache is created (and at host start when
/// registered with <see cref="MmapKvCacheServiceCollectionExtensions.AddMmapKvCache"/>).</summary>
public sealed class MmapKvCacheOptions
{
    /// <summary>The smallest <see cref="SizeLimit"/> accepted: 1 MiB.</summary>
    public const long MinimumSizeLimit = 1L << 20;

    /// <summary>The cache file. Created if missing. One process (and one <see cref="MmapKvCache"/>) uses a file at a time.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// The largest the cache file may grow, in bytes (it becomes the database's <see cref="KvOptions.MaxSize"/>).
    /// When a write would pass it, the entries that expire soonest are evicted until the write fits. An entry
    /// larger than <see cref="MmapKvCache.MaximumEntrySize"/> (half of this) is refused with <see cref="ArgumentException"/>.
    /// Default: 1 GiB; at least <see cref="MinimumSizeLimit"/>.
    /// </summary>
    public long SizeLimit { get; set; } = 1L << 30;

    /// <summary>
    /// The sliding window given to an entry set with no expiration at all (all three options null), as the SQL
    /// Server cache does. Default: 20 minutes.
    /// </summary>
    public TimeSpan DefaultSlidingExpiration { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>
    /// How often expired entries are removed from the file, in batches of <see cref="ExpirationScanBatchSize"/> per
    /// write transaction. Expired entries are never returned, whether or not the sweep has removed them yet.
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the timer off (<see cref="MmapKvCache.RemoveExpired"/> still works).
    /// Default: 1 minute.
    /// </summary>
    public TimeSpan ExpirationScanInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How many expired entries one sweep transaction removes at most, so writers are never held up long. Default: 1,000.</summary>
    public int ExpirationScanBatchSize { get; set; } = 1000;

    /// <summary>
    /// Durability of Set and Remove commits. Default: <see cref="Durability.Deferred"/>: a crash may lose the last
    /// moments of writes (at most <see cref="KvOptions.DeferredFlushInterval"/>, 1 s by default), never the file's
    /// integrity. <see cref="Durability.Immediate"/> makes each Set durable when it returns (the async methods then
    /// await the flush, which runs on the engine's own thread). Sliding refreshes and sweeps always commit deferred.
    /// </summary>
    public Durability Durability { get; set; } = Durability.Deferred;

    /// <summary>The clock for expiry. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Options for the underlying database (page size, flush interval, reader slots...). <see cref="KvOptions.MaxSize"/>
    /// is replaced by <see cref="SizeLimit"/> and <see cref="KvOptions.Durability"/> by <see cref="Durability"/>;
    /// <see cref="KvOptions.ReadOnly"/> must be false. The file is always opened with <see cref="KvOptions.Exclusive"/>:
    /// one cache instance per file, since it keeps the size accounting for <see cref="SizeLimit"/>.
    /// </summary>
    public KvOptions KvOptions { get; set; } = new();

    /// <summary>
    /// What to do with a cache file that is damaged (<see cref="CorruptDatabaseException"/> at open). False (the
    /// default): move it aside as <c>&lt;name&gt;.corrupt-&lt;UTC timestamp&gt;</c>, log an error and start empty.
    /// True: throw the exception from the constructor.
    /// </summary>
    public bool ThrowOnCorruption { get; set; }
}
