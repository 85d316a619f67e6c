using System.Diagnostics.Metrics;

namespace MmapKv.Diagnostics;

/// <summary>
/// The core meter, <see cref="Name"/>: one per process, shared by every open database, with instruments named
/// after the OpenTelemetry conventions (dotted lower case, UCUM units, durations in seconds). Each measurement
/// carries the tag <see cref="DatabaseTag"/> = the database's full path, so several open databases are told
/// apart; one instrument per name is what listeners and exporters expect. The list is docs/metrics.md.
/// </summary>
/// <remarks>
/// Counters and histograms are recorded by each database's <see cref="DatabaseMetrics"/>. The observable
/// instruments are read when a collector asks: they go over the open databases (a copy-on-write array, so the
/// callbacks take no lock) and read plain fields and the reader slots, never walking a tree.
/// </remarks>
internal static class KvMeter
{
    /// <summary>The meter's name, as listeners and OpenTelemetry's <c>AddMeter</c> select it.</summary>
    public const string Name = "MmapKv";

    /// <summary>The tag that names the database in every measurement (OpenTelemetry's database attribute).</summary>
    public const string DatabaseTag = "db.namespace";

    // Seconds: from 50 µs (a flush the device cache absorbs) to 10 s (a stalled disk).
    private static readonly double[] SecondsBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly long[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536];

    private static readonly Meter Meter = new(Name, typeof(KvMeter).Assembly.GetName().Version?.ToString(3));
    private static readonly object RegistryGate = new();
    private static DatabaseMetrics[] _open = [];

    public static readonly Counter<long> Commits = Meter.CreateCounter<long>("mmapkv.commits", "{commit}",
        "Commits published (visible to new transactions); a commit that changed nothing is not counted.");

    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("mmapkv.commit.duration", "s",
        "Time from a commit's publication until the flush that made it durable finished.", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Counter<long> Flushes = Meter.CreateCounter<long>("mmapkv.flushes", "{flush}",
        "Flushes that made commits durable (one device flush each, or two for a batch too large to list).");

    public static readonly Histogram<double> FlushDuration = Meter.CreateHistogram<double>("mmapkv.flush.duration", "s",
        "Time one flush took, from taking its batch to the return of its device flush.", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Histogram<long> CommitsPerFlush = Meter.CreateHistogram<long>("mmapkv.commits_per_flush", "{commit}",
        "Commits each flush made durable (above 1: group commit, or deferred commits).", tags: null,
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchBuckets });

    static KvMeter()
    {
        Meter.CreateObservableUpDownCounter("mmapkv.readers.active", () => Observe(m => m.ActiveReaders(out _)), "{reader}",
            "Read transactions open (a leaked one counts until it is reclaimed); the database's own reads excluded.");
        Meter.CreateObservableGauge("mmapkv.readers.oldest_age", () => Observe(m => { m.ActiveReaders(out var age); return age.TotalSeconds; }), "s",
            "How long the oldest open read transaction has been open; 0 when none is. A growing value is a reader holding space.");
        Meter.CreateObservableUpDownCounter("mmapkv.file.size", () => Observe(m => m.FileBytes), "By",
            "The file's length, including space allocated ahead of use.");
        Meter.CreateObservableUpDownCounter("mmapkv.pages.free", () => Observe(m => m.FreePages, writableOnly: true), "{page}",
            "Free pages the next write transaction may reuse at once, as of the end of the last write transaction.");
        Meter.CreateObservableUpDownCounter("mmapkv.pages.held", () => Observe(m => m.HeldPages, writableOnly: true), "{page}",
            "Free pages not reusable yet: an open reader may still see them, or the commit that freed them is not durable.");
    }

    /// <summary>Makes a database visible to the observable instruments.</summary>
    public static void Register(DatabaseMetrics db)
    {
        lock (RegistryGate) Volatile.Write(ref _open, [.. _open, db]);
    }

    /// <summary>From here on the observable instruments no longer report the database.</summary>
    public static void Unregister(DatabaseMetrics db)
    {
        lock (RegistryGate) Volatile.Write(ref _open, Array.FindAll(_open, m => !ReferenceEquals(m, db)));
    }

    private static List<Measurement<T>> Observe<T>(Func<DatabaseMetrics, T> read, bool writableOnly = false) where T : struct
    {
        var open = Volatile.Read(ref _open);
        var list = new List<Measurement<T>>(open.Length);
        foreach (var m in open)
            if (!writableOnly || m.Writable) list.Add(new Measurement<T>(read(m), m.Tag));
        return list;
    }
}
