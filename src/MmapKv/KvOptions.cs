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

    /// <summary>
    /// Keep the database to this one <see cref="KvDatabase"/>: any other opener, in this process or another, gets
    /// <see cref="DatabaseLockedException"/>, and this open fails the same way while another has it open. No lock
    /// file is used. Default: false: any number of processes may open the database, read-write or read-only, with
    /// one write transaction at a time across all of them; they coordinate through the lock file
    /// <c>&lt;path&gt;-lock</c> beside it (docs/durability.md §14). Exclusive and shared openers never mix: the
    /// second gets <see cref="DatabaseLockedException"/>. On macOS every open is exclusive for now.
    /// </summary>
    public bool Exclusive { get; init; }

    /// <summary>
    /// For tests and debugging: make a span used after its lifetime fault at once instead of silently reading other
    /// data. Every span the database hands out (values from <c>TryGet</c>, a cursor's <see cref="KvCursor.Key"/> and
    /// <see cref="KvCursor.Value"/>, a scan entry's <see cref="KvEntry.Key"/> and <see cref="KvEntry.Value"/>, the
    /// writable span of <see cref="WriteTransaction.Reserve(ReadOnlySpan{byte}, int)"/>) is then a copy in native
    /// pages of the transaction's own, made inaccessible when the transaction ends (commit, abort, dispose) and, in
    /// a write transaction, at its next write. A read or write through such a span after that point stops the
    /// process with a fatal <see cref="AccessViolationException"/> whose stack trace names the misuse site; it cannot
    /// be caught. A reserved value is filled through its copy and reaches its page before each read, write and the
    /// commit. Default: false.
    /// </summary>
    /// <remarks>
    /// Costs a copy per span handed out, and per transaction that hands out spans a page-granular native
    /// allocation and its protection change (system calls; no managed allocation): measured, a read transaction of
    /// one lookup 14 to 40 times slower, lookups in a transaction of 100 1.8 to 3 times (docs/durability.md §12.5).
    /// A transaction keeps every copy until its end, so a long one that reads much holds that much memory. When
    /// off, a handout costs one null check. Retired pages give their memory back at once; their address space stays
    /// reserved for the newest 4096 retired ranges (at most 16 GiB of addresses) in the process, and older ones are
    /// released, so a span used very long after its end may read unrelated memory again. Not detected: a span
    /// used after its cursor moved (it stays valid to the transaction's end), a read past a span's end, and spans
    /// of a read transaction that is never disposed (its copies are never retired or freed). Not a substitute for
    /// copying values that are kept: it only finds the code that does not.
    /// </remarks>
    public bool DebugSpans { get; init; }

    /// <summary>Unix permission bits for a newly created file. Default: owner read/write only (0600).</summary>
    public int CreateMode { get; init; } = Convert.ToInt32("600", 8);

    /// <summary>
    /// For tests: the most free-map delta entries a commit keeps before it folds them into the bitmaps (0: every
    /// commit folds; null: the format's limit, docs/format.md §7.5). Any value writes a valid map; a small one makes
    /// the fold, otherwise rare in a small file, happen every few commits.
    /// </summary>
    internal int? FreeMapDeltaCapacity { get; init; }

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
