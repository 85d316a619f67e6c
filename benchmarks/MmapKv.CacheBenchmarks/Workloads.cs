using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace MmapKv.CacheBenchmarks;

/// <summary>What a workload is: a name, the kind the targets use, and the timed part (nanoseconds per operation).</summary>
internal sealed record Workload(string Name, WorkloadKind Kind, Func<CacheEngine, Task<double>> Run, Func<CacheEngine, bool>? Applies = null)
{
    public bool AppliesTo(CacheEngine e) => Applies?.Invoke(e) ?? true;
}

internal enum WorkloadKind { Get, Set, Mixed }

/// <summary>
/// The cache workloads. Every call goes through the async IDistributedCache (or HybridCache) API one at a time,
/// as a service calls it, and every result is checked, so a wrong answer fails the run instead of being timed.
/// Entries carry a one-hour absolute expiry, so no engine slides on reads.
/// </summary>
internal sealed class Workloads(BenchConfig config)
{
    private static readonly DistributedCacheEntryOptions Hour = new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1) };
    private static readonly HybridCacheEntryOptions NoLocal = new() { Flags = HybridCacheEntryFlags.DisableLocalCache, Expiration = TimeSpan.FromHours(1) };
    private readonly Dictionary<CacheEngine, HybridCache> _hybrids = [];

    /// <summary>A value of <paramref name="size"/> bytes that says which key it belongs to (first 4 bytes) and is otherwise random.</summary>
    public static byte[] Value(int key, int size)
    {
        var v = new byte[size];
        new Random(key).NextBytes(v);
        BinaryPrimitives.WriteInt32LittleEndian(v, key);
        return v;
    }

    private static void Check(byte[]? v, int key, int size, string what)
    {
        if (v is null || v.Length != size || BinaryPrimitives.ReadInt32LittleEndian(v) != key)
            throw new InvalidOperationException($"{what}: key {key} returned {(v is null ? "nothing" : v.Length + " bytes of another value")}");
    }

    /// <summary>Stores the keys the get workloads read, in each engine and through each engine's HybridCache.</summary>
    public async Task Prepare(CacheEngine e)
    {
        for (int i = 0; i < config.Keys; i++) await e.Cache.SetAsync($"hit:{i}", Value(i, 1024), Hour);
        var services = new ServiceCollection();
        services.AddSingleton(e.Cache);
        if (e.Cache is MemoryDistributedCache) return;
        services.AddHybridCache();
        var hybrid = services.BuildServiceProvider().GetRequiredService<HybridCache>();
        for (int i = 0; i < config.Keys; i++) await hybrid.SetAsync($"hybrid:{i}", Value(i, 1024), NoLocal);
        _hybrids[e] = hybrid;
    }

    public IReadOnlyList<Workload> All =>
    [
        new("get hit, 1 KiB", WorkloadKind.Get, GetHit),
        new("get miss", WorkloadKind.Get, GetMiss),
        new("set 1 KiB", WorkloadKind.Set, e => Set(e, "set1k", 1024, config.Set1KOps, config.Keys)),
        new("set 64 KiB", WorkloadKind.Set, e => Set(e, "set64k", 64 * 1024, config.Set64KOps, 200)),
        new($"90/10 get/set, {BenchConfig.MixedTasks} tasks", WorkloadKind.Mixed, Mixed),
        // HybridCache takes a MemoryDistributedCache for no L2 at all (with L1 off every call ran the factory), so
        // that engine has no figure here.
        new("HybridCache GetOrCreateAsync, L1 off", WorkloadKind.Get, Hybrid, e => e.Cache is not MemoryDistributedCache),
    ];

    private async Task<double> GetHit(CacheEngine e)
    {
        var rng = new Random(1);
        long start = Stopwatch.GetTimestamp();
        for (int n = 0; n < config.GetOps; n++)
        {
            int k = rng.Next(config.Keys);
            Check(await e.Cache.GetAsync($"hit:{k}"), k, 1024, "get hit");
        }
        return PerOp(start, config.GetOps);
    }

    private async Task<double> GetMiss(CacheEngine e)
    {
        long start = Stopwatch.GetTimestamp();
        for (int n = 0; n < config.GetOps; n++)
        {
            if (await e.Cache.GetAsync($"miss:{n}") is not null) throw new InvalidOperationException($"get miss: miss:{n} returned a value");
        }
        return PerOp(start, config.GetOps);
    }

    private static async Task<double> Set(CacheEngine e, string prefix, int size, int ops, int keys)
    {
        var values = Enumerable.Range(0, Math.Min(keys, 64)).Select(i => Value(i, size)).ToArray();
        long start = Stopwatch.GetTimestamp();
        for (int n = 0; n < ops; n++)
        {
            int k = n % keys;
            await e.Cache.SetAsync($"{prefix}:{k}", values[k % values.Length], Hour);
        }
        double perOp = PerOp(start, ops);
        int last = (ops - 1) % keys;
        Check(await e.Cache.GetAsync($"{prefix}:{last}"), last % values.Length, size, prefix);
        return perOp;
    }

    private async Task<double> Mixed(CacheEngine e)
    {
        int perTask = config.MixedOpsPerTask;
        long start = Stopwatch.GetTimestamp();
        var tasks = Enumerable.Range(0, BenchConfig.MixedTasks).Select(t => Task.Run(async () =>
        {
            var rng = new Random(100 + t);
            for (int n = 0; n < perTask; n++)
            {
                int k = rng.Next(config.Keys);
                if (rng.Next(10) == 0) await e.Cache.SetAsync($"hit:{k}", Value(k, 1024), Hour);
                else Check(await e.Cache.GetAsync($"hit:{k}"), k, 1024, "90/10");
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        return PerOp(start, perTask * BenchConfig.MixedTasks);
    }

    private async Task<double> Hybrid(CacheEngine e)
    {
        var hybrid = _hybrids[e];
        var rng = new Random(2);
        int factoryCalls = 0;
        long start = Stopwatch.GetTimestamp();
        for (int n = 0; n < config.HybridOps; n++)
        {
            int k = rng.Next(config.Keys);
            var v = await hybrid.GetOrCreateAsync($"hybrid:{k}", _ => { factoryCalls++; return ValueTask.FromResult(Value(k, 1024)); }, NoLocal);
            Check(v, k, 1024, "HybridCache");
        }
        double perOp = PerOp(start, config.HybridOps);
        if (factoryCalls != 0) throw new InvalidOperationException($"HybridCache over {e.Name} called the factory {factoryCalls} times: L2 lost entries");
        return perOp;
    }

    private static double PerOp(long start, int ops) => Stopwatch.GetElapsedTime(start).TotalNanoseconds / ops;
}
