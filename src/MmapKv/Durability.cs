namespace MmapKv;

/// <summary>When a commit becomes durable. Neither mode can corrupt the file; they differ in what a crash may lose.</summary>
public enum Durability
{
    /// <summary>
    /// <see cref="WriteTransaction.Commit()"/> returns only after the commit is on stable storage: it survives a
    /// process kill, an OS crash and a power cut. Concurrent committers share one flush (group commit).
    /// </summary>
    Immediate = 0,

    /// <summary>
    /// The commit is visible to new transactions at once and becomes durable at the next
    /// <see cref="KvDatabase.Flush"/>, the next Immediate commit, or when the database is closed. A crash loses
    /// at most the commits after the last durable point, never more, and never leaves a partial transaction.
    /// </summary>
    Deferred = 1,
}
