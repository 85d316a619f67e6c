namespace MmapKv.FreeSpace;

/// <summary>
/// Writes the free map of the state a transaction commits (docs/format.md §7.5), through that transaction's
/// <see cref="TransactionPages"/>: the map's pages are allocated, shadowed and freed like any other page.
/// </summary>
internal static unsafe class FreeMapWriter
{
    /// <summary>
    /// Writes the map and returns its directory run. Only bitmap pages covering a page whose status changed are
    /// rewritten (copy-on-write). Rewriting a bitmap page allocates and frees pages, whose bits may live in yet
    /// another bitmap page, so this runs to a fixpoint; each bitmap page is shadowed at most once, so it ends within
    /// one pass per bitmap page.
    /// </summary>
    public static (long First, long Pages) Write(TransactionPages pages, long oldDirectory, long oldDirectoryPages)
    {
        List<long>? written = null;
        try
        {
            var touched = pages.BeginMapWrite();
            if (oldDirectory != 0) pages.FreeRun(oldDirectory, oldDirectoryPages);

            int pageSize = pages.PageSize;
            var bitmaps = pages.BitmapsToRewrite();
            var shadowed = pages.MapShadowed;
            long bitsPer = FreeMap.BitsPerPage(pageSize);
            // Room for the bitmaps the file may need once this commit's own allocations are counted.
            long directoryPages = FreeMap.DirectoryPagesFor(pageSize, FreeMap.BitmapsFor(pageSize, pages.PageCount) + 4);
            long directory = pages.AllocateRun(directoryPages);
            while (true)
            {
                while (touched.Count > 0)
                {
                    long id = touched.Dequeue();
                    int index = (int)(id / bitsPer);
                    while (bitmaps.Count <= index)
                    {
                        long fresh = pages.AllocatePage();
                        FreeMap.InitBitmap(pages.Page(fresh), fresh, pages.TxnId, pageSize);
                        shadowed.Add(bitmaps.Count);
                        bitmaps.Add(fresh);
                    }
                    if (shadowed.Add(index)) bitmaps[index] = pages.Shadow(bitmaps[index]);
                    FreeMap.SetBit(pages.Page(bitmaps[index]), id % bitsPer, pages.IsFreeAtCommit(id));
                }
                if (FreeMap.DirectoryPagesFor(pageSize, bitmaps.Count) <= directoryPages) break;
                pages.FreeRun(directory, directoryPages); // outgrown (a huge commit): take a bigger run and settle again
                directoryPages = FreeMap.DirectoryPagesFor(pageSize, bitmaps.Count + 4);
                directory = pages.AllocateRun(directoryPages);
            }
            FreeMap.WriteDirectory(pages.Page(directory), directory, pages.TxnId, directoryPages, bitmaps, pageSize);
            written = bitmaps;
            return (directory, directoryPages);
        }
        finally
        {
            pages.EndMapWrite(written);
        }
    }
}
