using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace MmapKv.Caching.Tests;

public sealed class ExpirySweepTests
{
    [Fact]
    public void The_timer_sweeps_expired_entries_and_leaves_live_ones()
    {
        using var t = new TestCache(o => o.ExpirationScanInterval = TimeSpan.FromMinutes(1));
        for (int i = 0; i < 10; i++) t.Cache.Set($"short{i}", [1], Entry.Relative(TimeSpan.FromSeconds(30)));
        t.Cache.Set("long", [2], Entry.Relative(TimeSpan.FromHours(1)));
        Assert.Equal(11, t.Cache.Count);
        t.Time.Advance(TimeSpan.FromMinutes(1)); // fires the sweep timer
        Assert.Equal(1, t.Cache.Count);
        Assert.Equal(new byte[] { 2 }, t.Cache.Get("long"));
    }

    [Fact]
    public void A_sweep_removes_in_bounded_batches_and_counts_expirations()
    {
        using var t = new TestCache(o => o.ExpirationScanBatchSize = 1000);
        using var expirations = new MetricCollector<long>(null, CacheMetrics.MeterName, "mmapkv.cache.expirations");
        for (int i = 0; i < 2500; i++) t.Cache.Set($"k{i:D5}", [1], Entry.Relative(TimeSpan.FromSeconds(10 + i % 7)));
        for (int i = 0; i < 100; i++) t.Cache.Set($"live{i}", [1], Entry.Relative(TimeSpan.FromHours(1)));
        t.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(2500, t.Cache.RemoveExpired());
        Assert.Equal(100, t.Cache.Count);
        Assert.Equal(2500, expirations.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(0, t.Cache.RemoveExpired());
    }

    [Fact]
    public void The_sweep_follows_slid_entries_to_their_new_expiry()
    {
        using var t = new TestCache();
        t.Cache.Set("s", [1], Entry.Sliding(TimeSpan.FromSeconds(10)));
        t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(t.Cache.Get("s"));   // now expires at 18 s
        t.Time.Advance(TimeSpan.FromSeconds(4)); // 12 s: past the first expiry, before the new one
        Assert.Equal(0, t.Cache.RemoveExpired());
        t.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, t.Cache.RemoveExpired());
    }

    [Fact]
    public void An_overwrite_moves_the_entry_in_the_expiry_index()
    {
        using var t = new TestCache();
        t.Cache.Set("a", [1], Entry.Relative(TimeSpan.FromSeconds(5)));
        t.Cache.Set("a", [2], Entry.Relative(TimeSpan.FromHours(1)));
        t.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, t.Cache.RemoveExpired());
        Assert.Equal(new byte[] { 2 }, t.Cache.Get("a"));
        using (var db = OpenRaw(t))
        using (var tx = db.BeginRead())
            Assert.Equal(1, tx.OpenTree("cache-expiry").Count);
    }

    private static KvDatabase OpenRaw(TestCache t)
    {
        t.Cache.Dispose();
        return KvDatabase.Open(t.FilePath);
    }
}
