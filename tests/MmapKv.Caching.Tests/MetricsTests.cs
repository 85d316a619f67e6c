using System.Buffers;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace MmapKv.Caching.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void Hits_misses_sets_and_size_are_measured()
    {
        using var dir = new TempDir();
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddMmapKvCache(o => o.Path = dir.File());
        using var sp = services.BuildServiceProvider();
        var factory = sp.GetRequiredService<IMeterFactory>();
        using var hits = new MetricCollector<long>(factory, CacheMetrics.MeterName, "mmapkv.cache.hits");
        using var misses = new MetricCollector<long>(factory, CacheMetrics.MeterName, "mmapkv.cache.misses");
        using var sets = new MetricCollector<long>(factory, CacheMetrics.MeterName, "mmapkv.cache.sets");
        using var size = new MetricCollector<long>(factory, CacheMetrics.MeterName, "mmapkv.cache.size");
        using var entries = new MetricCollector<long>(factory, CacheMetrics.MeterName, "mmapkv.cache.entries");
        var cache = sp.GetRequiredService<IBufferDistributedCache>();
        cache.Set("a", new byte[100], new DistributedCacheEntryOptions());
        cache.Set("b", new byte[50], new DistributedCacheEntryOptions());
        cache.Get("a");
        cache.TryGet("b", new ArrayBufferWriter<byte>());
        cache.Get("nope");
        cache.Refresh("nope"); // Refresh is not a read of the value: neither hit nor miss
        Assert.Equal(2, hits.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, misses.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(2, sets.GetMeasurementSnapshot().EvaluateAsCounter());
        size.RecordObservableInstruments();
        entries.RecordObservableInstruments();
        // each entry: the key twice, 8 bytes of index prefix, the 24-byte header, the value
        Assert.Equal((2 + 8 + 24 + 100) + (2 + 8 + 24 + 50), size.LastMeasurement!.Value);
        Assert.Equal(2, entries.LastMeasurement!.Value);
        Assert.Equal("By", size.Instrument!.Unit);
    }
}
