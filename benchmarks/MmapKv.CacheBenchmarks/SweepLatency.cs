using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using MmapKv.Caching;

namespace MmapKv.CacheBenchmarks;

/// <summary>Get latency percentiles, idle and while the sweep removes many expired entries.</summary>
internal sealed record SweepResult(int Expired, int Removed, TimeSpan SweepTime, int Batches, double IdleP50, double IdleP99, double SweepP50, double SweepP99, int IdleSamples, int SweepSamples);

/// <summary>
/// The sweep workload of the issue: p99 of <c>Get</c> on live keys while <c>RemoveExpired</c> deletes
/// <see cref="BenchConfig.SweepExpired"/> expired entries (1M in a full run), against p99 of the same Gets when idle.
/// A manual clock expires them all at once; the sweep runs on another thread, in its bounded batches.
/// </summary>
internal static class SweepLatency
{
    public static SweepResult Run(BenchConfig config)
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        string path = Path.Combine(config.WorkDir, "sweep.mkv");
        using var cache = new MmapKvCache(Options.Create(new MmapKvCacheOptions
        {
            Path = path,
            SizeLimit = 8L << 30,
            TimeProvider = clock,
            ExpirationScanInterval = Timeout.InfiniteTimeSpan,
        }));
        var shortLived = new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1) };
        var longLived = new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromDays(1) };
        var small = new byte[64];
        for (int i = 0; i < config.SweepExpired; i++) cache.Set($"expiring:{i:D8}", small, shortLived);
        var live = Enumerable.Range(0, config.SweepLive).Select(i => $"live:{i:D6}").ToArray();
        foreach (var k in live) cache.Set(k, Workloads.Value(1, 1024), longLived);
        clock.Advance(TimeSpan.FromHours(2));

        var rng = new Random(3);
        int idleSamples = Math.Max(20_000, config.SweepLive * 2);
        var idle = new List<double>(idleSamples);
        for (int n = 0; n < idleSamples; n++) idle.Add(TimedGet(cache, live[rng.Next(live.Length)]));

        var during = new List<double>(1 << 20);
        var started = Stopwatch.GetTimestamp();
        var sweep = Task.Factory.StartNew(cache.RemoveExpired, TaskCreationOptions.LongRunning);
        while (!sweep.IsCompleted) during.Add(TimedGet(cache, live[rng.Next(live.Length)]));
        var sweepTime = Stopwatch.GetElapsedTime(started);
        int removed = sweep.Result;
        if (removed != config.SweepExpired) throw new InvalidOperationException($"the sweep removed {removed} entries, not {config.SweepExpired}");
        if (cache.Count != config.SweepLive) throw new InvalidOperationException($"{cache.Count} entries left after the sweep, not {config.SweepLive}");
        int batches = (config.SweepExpired + 999) / 1000;
        return new SweepResult(config.SweepExpired, removed, sweepTime, batches,
            Percentile(idle, 0.50), Percentile(idle, 0.99), Percentile(during, 0.50), Percentile(during, 0.99), idle.Count, during.Count);
    }

    private static double TimedGet(MmapKvCache cache, string key)
    {
        long t = Stopwatch.GetTimestamp();
        var v = cache.Get(key);
        double ns = Stopwatch.GetElapsedTime(t).TotalNanoseconds;
        if (v is null || v.Length != 1024) throw new InvalidOperationException($"live key {key} was not returned");
        return ns;
    }

    private static double Percentile(List<double> samples, double p)
    {
        if (samples.Count == 0) return double.NaN;
        var sorted = samples.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
