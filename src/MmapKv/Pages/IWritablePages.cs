namespace MmapKv.Pages;

/// <summary>
/// The pages a write transaction may change, as the B+tree writer sees them: allocate, free and shadow
/// (copy-on-write) pages, and reach them. Defined here, below both the tree and free space, so the tree writer
/// does not depend on how free space is kept; FreeSpace.TransactionPages implements it.
/// </summary>
/// <remarks>
/// Invariant W1 (copy-on-write): only a dirty page, one allocated by this transaction, may be written.
/// </remarks>
internal unsafe interface IWritablePages
{
    /// <summary>The database page size.</summary>
    int PageSize { get; }

    /// <summary>The id this transaction commits as; written into the header of every page it writes.</summary>
    long TxnId { get; }

    /// <summary>How the transaction reads pages: its own page count, and checksum verification if enabled.</summary>
    PageContext Context { get; }

    /// <summary>The address of page <paramref name="id"/>. Unchecked: for dirty pages and pages already validated.</summary>
    byte* Page(long id);

    /// <summary>Whether <paramref name="id"/> is a single page this transaction allocated.</summary>
    bool IsDirty(long id);

    /// <summary>Whether a run this transaction allocated starts at <paramref name="start"/>.</summary>
    bool IsDirtyRun(long start);

    /// <summary>A new dirty page.</summary>
    long AllocatePage();

    /// <summary>A new dirty run of <paramref name="pages"/> contiguous pages (an overflow value).</summary>
    long AllocateRun(long pages);

    /// <summary>Frees one page.</summary>
    void FreePage(long id);

    /// <summary>Frees a run that started as one allocation.</summary>
    void FreeRun(long start, long pages);

    /// <summary>Copy-on-write: a dirty copy of committed page <paramref name="id"/>; the original is freed.</summary>
    long Shadow(long id);
}
