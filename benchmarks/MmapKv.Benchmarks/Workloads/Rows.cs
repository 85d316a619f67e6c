namespace MmapKv.Benchmarks.Workloads;

internal enum MetricKind
{
    /// <summary>Milliseconds; lower is better.</summary>
    Time,
    /// <summary>Bytes on disk; lower is better.</summary>
    Bytes,
    /// <summary>A dimensionless fraction (of a physical floor); higher is better, no peer ratio.</summary>
    Fraction,
    /// <summary>Operations per second; higher is better, so its ratio is MmapKv / peer (above 1: MmapKv faster).</summary>
    Rate,
    /// <summary>A dimensionless count per event (commits per device flush); no peer ratio.</summary>
    PerEvent,
}

/// <summary>One line of the result table. <see cref="Selector"/> is the name that picks it with <c>--workloads</c>.</summary>
internal sealed record Row(string Id, string Label, MetricKind Kind, string Selector, bool IsRead = false)
{
    public bool IsWrite => Kind == MetricKind.Time && !IsRead;
}

/// <summary>The workloads of docs/benchmarks.md, in table order.</summary>
internal static class Rows
{
    public static readonly Row BulkLoad = new("bulk-load", "bulk load", MetricKind.Time, "load");
    public static readonly Row IndividualWrites = new("individual-writes", "individual writes (1,000 durable txns)", MetricKind.Time, "individual");
    public static readonly Row BatchWrites = new("batch-writes", "batch writes (100 txns × 1,000)", MetricKind.Time, "batch");
    public static readonly Row RandomReads = new("random-reads", "random reads", MetricKind.Time, "reads", IsRead: true);
    public static readonly Row RangeReads = new("range-reads", "random range reads (N/2 × seek + 10 next)", MetricKind.Time, "range", IsRead: true);
    public static readonly Row FullScan = new("full-scan", "full scan", MetricKind.Time, "scan", IsRead: true);
    public static readonly Row ConcurrentReads1 = new("concurrent-reads-1", "concurrent reads, 1 thread", MetricKind.Time, "concurrent", IsRead: true);
    public static readonly Row ConcurrentReads2 = new("concurrent-reads-2", "concurrent reads, 2 threads", MetricKind.Time, "concurrent", IsRead: true);
    public static readonly Row Removals = new("removals", "removals (N/2 in one txn)", MetricKind.Time, "removals");
    public static readonly Row SizeAfterLoad = new("size-after-load", "file size after load", MetricKind.Bytes, "size");
    public static readonly Row SizeAfterRemovals = new("size-after-removals", "file size after removals", MetricKind.Bytes, "size");
    public static readonly Row SequentialAppend = new("sequential-append", "sequential append", MetricKind.Time, "append");
    public static readonly Row GroupCommit = new("group-commit", "group commit (4 threads × 250 durable txns)", MetricKind.Time, "group");

    /// <summary>
    /// Derived from the individual writes: the engine's durable one-put commit rate divided by the rate of a bare
    /// 4 KiB pwrite + fdatasync on the same disk, measured interleaved with them (not a selectable workload).
    /// </summary>
    public static readonly Row FloorFraction = new("floor-fraction", "individual commit rate / fdatasync floor", MetricKind.Fraction, "individual");

    /// <summary>
    /// Derived from the group commit: the commits it made divided by the flushes that made them durable, as the
    /// engine counts them itself (<see cref="Engines.IEngine.FlushCounts"/>); engines that do not count show "–".
    /// </summary>
    public static readonly Row CommitsPerFlush = new("commits-per-flush", "group commit: commits per device flush", MetricKind.PerEvent, "group");

    public static readonly Row[] Standard =
    [
        BulkLoad, IndividualWrites, BatchWrites, RandomReads, RangeReads, FullScan, ConcurrentReads1, ConcurrentReads2,
        Removals, SizeAfterLoad, SizeAfterRemovals, SequentialAppend, GroupCommit,
    ];

    public static readonly string[] Selectors = Standard.Select(r => r.Selector).Distinct().ToArray();

    /// <summary>Rows of the scaling mode, per database size.</summary>
    public static Row ScalingLoad(long n) => new($"scaling-load-{n}", $"bulk load @ {Count(n)} keys", MetricKind.Time, "scaling");
    public static Row ScalingReads(long n, long gets) => new($"scaling-reads-{n}", $"random reads ({Count(gets)} gets) @ {Count(n)} keys", MetricKind.Time, "scaling", IsRead: true);
    public static Row ScalingWrites(long n) => new($"scaling-writes-{n}", $"individual writes (1,000 durable txns) @ {Count(n)} keys", MetricKind.Time, "scaling");
    public static Row ScalingSize(long n) => new($"scaling-size-{n}", $"file size @ {Count(n)} keys", MetricKind.Bytes, "scaling");

    /// <summary>1000000 → "1M", 100000 → "100K".</summary>
    public static string Count(long n) =>
        n >= 1_000_000 && n % 1_000_000 == 0 ? $"{n / 1_000_000}M"
        : n >= 1_000 && n % 1_000 == 0 ? $"{n / 1_000}K"
        : n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
