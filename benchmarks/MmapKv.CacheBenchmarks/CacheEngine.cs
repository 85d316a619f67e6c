using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using MmapKv.Caching;
using NeoSmart.Caching.Sqlite;

namespace MmapKv.CacheBenchmarks;

/// <summary>One IDistributedCache under test, with what it promises about durability.</summary>
internal sealed class CacheEngine(string name, IDistributedCache cache, string durability, Action dispose) : IDisposable
{
    public string Name { get; } = name;
    public IDistributedCache Cache { get; } = cache;
    public string Durability { get; } = durability;

    public void Dispose() => dispose();

    public const string MmapKvName = "MmapKvCache";

    /// <summary>The four engines, MmapKv first. Each keeps its default durability (docs/benchmarks.md, "Cache").</summary>
    public static List<CacheEngine> All(BenchConfig config, RedisServerProcess redis)
    {
        Directory.CreateDirectory(config.WorkDir);
        var mmap = new MmapKvCache(Options.Create(new MmapKvCacheOptions
        {
            Path = Path.Combine(config.WorkDir, "cache.mkv"),
            SizeLimit = 4L << 30,
        }));
        SQLitePCL.Batteries.Init();
        var sqlite = new SqliteCache(new SqliteCacheOptions { CachePath = Path.Combine(config.WorkDir, "cache.sqlite") });
        var redisCache = new RedisCache(Options.Create(new RedisCacheOptions { Configuration = $"127.0.0.1:{redis.Port}" }));
        var memory = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        return
        [
            new(MmapKvName, mmap, "Deferred (its default): each Set is committed at once and made durable (fdatasync) by the engine within 1 s; a crash loses at most that second, never the file's integrity", mmap.Dispose),
            new("SQLite cache", sqlite, "its default: WAL with synchronous=NORMAL, no fsync per Set (fsync at WAL checkpoints); a power loss may drop recent Sets", sqlite.Dispose),
            new("Redis", redisCache, "no fsync at all: started with --save \"\" --appendonly no (Debian's packaged config has AOF off too); everything lives in redis-server's memory", redisCache.Dispose),
            new("MemoryDistributedCache", memory, "none: process memory, the upper bound", () => { }),
        ];
    }
}
