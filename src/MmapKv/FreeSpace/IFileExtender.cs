namespace MmapKv.FreeSpace;

/// <summary>
/// What <see cref="TransactionPages"/> asks when the pool has no page for it: make the file cover more pages.
/// The growth policy (step sizes, reclaiming the quarantine, the delete reserve) orchestrates the commit pipeline
/// and the allocator, so it lives above free space (Transactions.FileGrowth) and is reached only through this.
/// </summary>
internal interface IFileExtender
{
    /// <summary>
    /// Makes the file cover <paramref name="pageCount"/> pages and returns true; or returns false, having moved
    /// reclaimed pages into the allocator's pool instead, so the caller takes from the pool and asks again if that
    /// was not enough.
    /// </summary>
    /// <param name="pageCount">The high-water mark the transaction needs.</param>
    /// <param name="deleteOnly">The transaction has not inserted or overwritten anything, so it may use the delete reserve.</param>
    /// <exception cref="DatabaseFullException">No growth, reclaim or reserve can give the space.</exception>
    bool Ensure(long pageCount, bool deleteOnly);

    /// <summary>
    /// Advice: the transaction is about to write pages <c>[firstPage, firstPage + pages)</c>, past the high-water mark
    /// of every committed state, so the file faults them in at once (W8, docs/durability.md §5.1). Pages past the
    /// file's length are left out. Changes no byte and never throws. The work may go on after the call returns, on
    /// a thread of the storage's, until <see cref="EndPrefault"/>.
    /// </summary>
    /// <returns>The page after the last one covered: <c>firstPage + pages</c>, or less where the file ends.</returns>
    long Prefault(long firstPage, long pages);

    /// <summary>
    /// Ends every prefault asked so far (W8): drops what has not started and returns once nothing runs. The
    /// transaction calls it before its commit publishes the pages it took. Never throws.
    /// </summary>
    void EndPrefault();
}
