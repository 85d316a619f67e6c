using System.Diagnostics.Metrics;

namespace MmapKv.Caching;

/// <summary>
/// The "MmapKv.Caching" meter (docs/caching.md, "Metrics"). Names follow the OpenTelemetry conventions: dotted
/// lower case under a namespace, units in UCUM braces, no "_total" suffix on counters.
/// </summary>
internal sealed class CacheMetrics : IDisposable
{
    public const string MeterName = "MmapKv.Caching";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public Counter<long> Hits { get; }
    public Counter<long> Misses { get; }
    public Counter<long> Sets { get; }
    public Counter<long> Evictions { get; }
    public Counter<long> Expirations { get; }

    public CacheMetrics(IMeterFactory? factory, Func<long> sizeBytes, Func<long> entries)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Hits = _meter.CreateCounter<long>("mmapkv.cache.hits", "{hit}", "Reads (Get, TryGet) that found a live entry.");
        Misses = _meter.CreateCounter<long>("mmapkv.cache.misses", "{miss}", "Reads that found no entry or an expired one.");
        Sets = _meter.CreateCounter<long>("mmapkv.cache.sets", "{set}", "Entries stored by Set.");
        Evictions = _meter.CreateCounter<long>("mmapkv.cache.evictions", "{entry}", "Entries removed to stay within the size limit.");
        Expirations = _meter.CreateCounter<long>("mmapkv.cache.expirations", "{entry}", "Expired entries removed by the sweep.");
        _meter.CreateObservableUpDownCounter("mmapkv.cache.size", sizeBytes, "By", "Bytes of keys, headers and values held.");
        _meter.CreateObservableUpDownCounter("mmapkv.cache.entries", entries, "{entry}", "Entries held (live or expired but not yet swept).");
    }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
