using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MmapKv.Caching.Tests;

public sealed class SizeLimitTests
{
    private const long Limit = 4L << 20;

    [Fact]
    public void Filling_past_the_limit_evicts_the_soonest_expiring_and_keeps_the_file_within_it()
    {
        var logger = new FakeLogger<MmapKvCache>();
        using var t = new TestCache(o => o.SizeLimit = Limit, logger);
        using var evictions = new MetricCollector<long>(null, CacheMetrics.MeterName, "mmapkv.cache.evictions");
        var value = new byte[8 * 1024];
        // Long-lived entries first, then many short-lived ones: eviction must take the short-lived ones.
        for (int i = 0; i < 50; i++) t.Cache.Set($"keep{i}", value, Entry.Relative(TimeSpan.FromDays(1)));
        for (int i = 0; i < 2000; i++) t.Cache.Set($"tmp{i}", value, Entry.Relative(TimeSpan.FromMinutes(5 + i % 50)));
        Assert.True(new FileInfo(t.FilePath).Length <= Limit);
        Assert.True(evictions.GetMeasurementSnapshot().EvaluateAsCounter() > 0);
        for (int i = 0; i < 50; i++) Assert.NotNull(t.Cache.Get($"keep{i}"));
        Assert.NotNull(t.Cache.Get("tmp1999"));
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Id.Id == 2 && r.Level == LogLevel.Information);
        t.Cache.Dispose();
        using var db = KvDatabase.Open(t.FilePath);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public async Task A_write_storm_of_8_tasks_stays_within_the_limit_and_never_throws()
    {
        using var t = new TestCache(o => o.SizeLimit = Limit);
        var tasks = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var rng = new Random(w);
            for (int i = 0; i < 600; i++)
            {
                var value = new byte[rng.Next(100, 40_000)];
                var options = Entry.Relative(TimeSpan.FromSeconds(rng.Next(1, 3600)));
                if (i % 2 == 0) await t.Cache.SetAsync($"w{w}/{rng.Next(400)}", value, options);
                else t.Cache.Set($"w{w}/{rng.Next(400)}", value, options);
                if (i % 5 == 0) await t.Cache.GetAsync($"w{w}/{rng.Next(400)}");
                if (i % 50 == 0) t.Time.Advance(TimeSpan.FromSeconds(30));
                if (i % 100 == 0) t.Cache.RemoveExpired();
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.True(new FileInfo(t.FilePath).Length <= Limit);
        Assert.True(t.Cache.SizeBytes <= Limit);
        long count = t.Cache.Count;
        t.Reopen();
        Assert.Equal(count, t.Cache.Count);
        t.Cache.Dispose();
        using (var db = KvDatabase.Open(t.FilePath)) Assert.True(db.Check().IsValid);
        t.Reopen();
    }

    [Fact]
    public void An_entry_over_half_the_limit_is_refused_with_ArgumentException()
    {
        using var t = new TestCache(o => o.SizeLimit = Limit);
        Assert.Equal(Limit / 2, t.Cache.MaximumEntrySize);
        Assert.Throws<ArgumentException>(() => t.Cache.Set("big", new byte[Limit / 2], new DistributedCacheEntryOptions()));
        Assert.Throws<ArgumentException>(() => t.Cache.Set("bigger", new byte[Limit + 1], new DistributedCacheEntryOptions()));
        t.Cache.Set("fits", new byte[Limit / 4], new DistributedCacheEntryOptions());
        Assert.NotNull(t.Cache.Get("fits"));
    }
}
