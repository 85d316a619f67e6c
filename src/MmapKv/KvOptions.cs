using MmapKv.Format;

namespace MmapKv;

/// <summary>Settings for <see cref="KvDatabase.Open(string, KvOptions)"/>.</summary>
public sealed record KvOptions
{
    /// <summary>
    /// The most the file may grow to, in bytes. This much address space is reserved once at open (no memory is
    /// committed), so it can be generous. Default: 256 GiB. Must be at least the current file size.
    /// </summary>
    public long MaxSize { get; init; } = 256L << 30;

    /// <summary>Page size for a new file: a power of two from 4096 to 65536. Ignored for an existing file, whose
    /// page size is fixed. Default: 4096.</summary>
    public int PageSize { get; init; } = Limits.DefaultPageSize;

    /// <summary>The default durability of commits. Default: <see cref="MmapKv.Durability.Immediate"/>.</summary>
    public Durability Durability { get; init; } = Durability.Immediate;

    /// <summary>
    /// Deferred commits are flushed in the background at this interval, bounding what a crash can lose.
    /// <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/> turns the timer off. Default: 1 second.
    /// </summary>
    public TimeSpan DeferredFlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A deferred commit that leaves at least this many bytes of pages unflushed flushes before it returns, so
    /// the file does not grow while freed pages wait for durability. Default: 64 MiB.
    /// </summary>
    public long DeferredFlushBytes { get; init; } = 64L << 20;

    /// <summary>Open without write access: the map is read-only and write transactions are refused.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Verify each page's CRC32C the first time a transaction touches it, so damaged data raises
    /// <see cref="CorruptDatabaseException"/> instead of being returned. Costs a checksum per page per transaction.
    /// Meta pages and the free-space map are always verified; <see cref="KvDatabase.Check"/> verifies everything.
    /// Default: false.
    /// </summary>
    public bool VerifyChecksums { get; init; }

    /// <summary>
    /// Most read transactions open at once. Default: 1024. Beyond it <see cref="KvDatabase.BeginRead()"/> throws
    /// <see cref="ReaderSlotsFullException"/>; <see cref="KvDatabase.Check"/>, <see cref="KvDatabase.GetStats"/>
    /// and <see cref="KvDatabase.CopyTo(string, bool)"/> have slots of their own and keep working.
    /// </summary>
    public int MaxReaders { get; init; } = 1024;

    /// <summary>
    /// Record where each transaction was started (a stack trace), so that <see cref="KvDatabase.GetStats"/>,
    /// <see cref="ReaderSlotsFullException"/> and the <see cref="TimeoutException"/> of
    /// <see cref="KvDatabase.BeginWrite(TimeSpan)"/> can name the code that leaked one. Costs a stack trace per
    /// transaction: for debugging. Default: false.
    /// </summary>
    public bool TrackTransactions { get; init; }

    /// <summary>
    /// A read transaction that was never disposed and has been garbage-collected keeps protecting its snapshot
    /// for this long after its finalizer ran; then its slot and the pages it held are reclaimed. Spans taken from
    /// it must not be read after that (see docs/durability.md, "Leaked read transactions").
    /// <see cref="Timeout.InfiniteTimeSpan"/> never reclaims. Default: 30 seconds.
    /// </summary>
    public TimeSpan LeakedReaderGracePeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Unix permission bits for a newly created file. Default: owner read/write only (0600).</summary>
    public int CreateMode { get; init; } = Convert.ToInt32("600", 8);

    internal void Validate()
    {
        if (!Limits.IsValidPageSize(PageSize))
            throw new ArgumentOutOfRangeException(nameof(PageSize), PageSize, "The page size must be a power of two from 4096 to 65536.");
        if (MaxSize < 2L * PageSize)
            throw new ArgumentOutOfRangeException(nameof(MaxSize), MaxSize, "MaxSize must hold at least the two meta pages.");
        if (MaxReaders < 1 || MaxReaders > 1 << 20)
            throw new ArgumentOutOfRangeException(nameof(MaxReaders), MaxReaders, "MaxReaders must be from 1 to 1048576.");
        if (!Enum.IsDefined(Durability))
            throw new ArgumentOutOfRangeException(nameof(Durability), Durability, "Unknown durability mode.");
        if (DeferredFlushInterval < TimeSpan.Zero && DeferredFlushInterval != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(DeferredFlushInterval), DeferredFlushInterval, "The interval must not be negative.");
        if (LeakedReaderGracePeriod < TimeSpan.Zero && LeakedReaderGracePeriod != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(LeakedReaderGracePeriod), LeakedReaderGracePeriod, "The grace period must not be negative.");
        if (DeferredFlushBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(DeferredFlushBytes), DeferredFlushBytes, "The threshold must be positive.");
        if ((CreateMode & ~0x1FF) != 0)
            throw new ArgumentOutOfRangeException(nameof(CreateMode), CreateMode, "CreateMode holds permission bits only (0 to 0777).");
    }
}
