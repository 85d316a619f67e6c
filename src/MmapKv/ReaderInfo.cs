namespace MmapKv;

/// <summary>One open read transaction, as <see cref="KvDatabase.GetStats"/> saw it.</summary>
/// <param name="SnapshotTxnId">The commit it sees; pages freed after it stay out of reuse until it ends.</param>
/// <param name="Age">How long it has been open.</param>
/// <param name="Abandoned">It was never disposed and has been garbage-collected; its slot is freed once the grace
/// period (<see cref="KvOptions.LeakedReaderGracePeriod"/>) has passed.</param>
/// <param name="StartedAt">Where it was started (a stack trace), with <see cref="KvOptions.TrackTransactions"/>; otherwise null.</param>
public sealed record ReaderInfo(long SnapshotTxnId, TimeSpan Age, bool Abandoned, string? StartedAt)
{
    /// <summary>The process that holds it (the database is shared between processes unless
    /// <see cref="KvOptions.Exclusive"/>; with it, always this process).</summary>
    public int ProcessId { get; init; }
}
