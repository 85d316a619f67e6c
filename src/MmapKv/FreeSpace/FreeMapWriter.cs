namespace MmapKv.FreeSpace;

/// <summary>
/// Writes the free map of the state a transaction commits (docs/format.md §7.5), through that transaction's
/// <see cref="TransactionPages"/>: the map's pages are allocated, shadowed and freed like any other page.
/// </summary>
/// <remarks>
/// The map is the committed bitmaps plus a delta (§7.2): the pages whose status differs from their bit. A commit
/// writes a new directory with the delta brought up to date, and leaves the bitmaps alone, so a small commit writes
/// one map page instead of one per bitmap it touches. The commit folds instead when the delta would outgrow
/// <see cref="TransactionPages.DeltaCapacity"/> (<see cref="FreeMap.MaxDeltaEntries"/> unless a test asks for
/// less), when the file needs another bitmap, or when there is no map yet: it rewrites every bitmap page the old
/// delta and its own changes touch, and writes an empty delta. Either way the map describes exactly the committed
/// state (F1–F4).
/// </remarks>
internal static unsafe class FreeMapWriter
{
    /// <summary>Writes the map and returns its directory run.</summary>
    public static (long First, long Pages) Write(TransactionPages pages, long oldDirectory, long oldDirectoryPages)
    {
        List<long>? written = null;
        try
        {
            var touched = pages.BeginMapWrite();
            var (ids, oldDelta, delta) = pages.MapScratch;
            if (oldDirectory != 0)
            {
                FreeMap.ReadDelta(pages.Page(oldDirectory), oldDelta); // intact: freed here, not reused before F is durable (R2)
                pages.FreeRun(oldDirectory, oldDirectoryPages);
            }

            int pageSize = pages.PageSize;
            var bitmaps = pages.BitmapsToRewrite();
            // Room for the bitmaps the file may need once this commit's own allocations are counted, and a full delta.
            long directoryPages = DirectoryPagesFor(pageSize, FreeMap.BitmapsFor(pageSize, pages.PageCount) + 4);
            long directory = pages.AllocateRun(directoryPages);
            if (!TryExtendDelta(pages, touched, bitmaps, ids, oldDelta, delta))
            {
                delta.Clear();
                foreach (long id in ids) touched.Enqueue(id);
                directoryPages = Fold(pages, touched, bitmaps, oldDelta, ref directory, directoryPages);
            }
            FreeMap.WriteDirectory(pages.Page(directory), directory, pages.TxnId, directoryPages, bitmaps, delta, pageSize);
            written = bitmaps;
            return (directory, directoryPages);
        }
        finally
        {
            pages.EndMapWrite(written);
        }
    }

    private static long DirectoryPagesFor(int pageSize, long bitmaps) =>
        FreeMap.DirectoryPagesFor(pageSize, bitmaps, FreeMap.MaxDeltaEntries(pageSize));

    /// <summary>
    /// The new delta, in <paramref name="delta"/>, without touching a bitmap: the committed entries of pages this
    /// transaction left alone (their status is unchanged), and an entry for each queued page whose status at commit
    /// differs from its committed bit. False, with every queued page moved into <paramref name="ids"/>, when the
    /// commit must fold instead. Nothing is allocated or freed from here on, so the statuses read are final.
    /// </summary>
    private static bool TryExtendDelta(TransactionPages pages, Queue<long> touched, List<long> bitmaps, List<long> ids, List<long> oldDelta, List<long> delta)
    {
        while (touched.TryDequeue(out long queued)) ids.Add(queued);
        int pageSize = pages.PageSize;
        if (bitmaps.Count == 0 || FreeMap.BitmapsFor(pageSize, pages.PageCount) != bitmaps.Count) return false;
        int capacity = pages.DeltaCapacity;
        long bitsPer = FreeMap.BitsPerPage(pageSize);
        ids.Sort();
        int o = 0;
        for (int i = 0; i < ids.Count; i++)
        {
            long id = ids[i];
            if (i > 0 && id == ids[i - 1]) continue;
            for (; o < oldDelta.Count && FreeMapDelta.PageOf(oldDelta[o]) < id; o++) delta.Add(oldDelta[o]);
            if (o < oldDelta.Count && FreeMapDelta.PageOf(oldDelta[o]) == id) o++; // superseded: the page was touched here
            bool free = pages.IsFreeAtCommit(id);
            if (free != FreeMap.IsBitSet(pages.Page(bitmaps[(int)(id / bitsPer)]), id % bitsPer))
                delta.Add(FreeMapDelta.Entry(id, free));
            if (delta.Count > capacity) return false;
        }
        for (; o < oldDelta.Count; o++) delta.Add(oldDelta[o]);
        return delta.Count <= capacity;
    }

    /// <summary>
    /// Folds the delta into the bitmaps. Only bitmap pages covering a page whose bit changes are rewritten
    /// (copy-on-write). The committed delta's pages first take their entries' status (this transaction did not
    /// change them, or it queued them too, and the queue, applied after, wins). Rewriting a bitmap page allocates and
    /// frees pages, whose bits may live in yet another bitmap page, so this runs to a fixpoint; each bitmap page is
    /// shadowed at most once, so it ends within one pass per bitmap page. Returns the directory run's length, and
    /// moves <paramref name="directory"/> when a huge commit outgrew the run.
    /// </summary>
    private static long Fold(TransactionPages pages, Queue<long> touched, List<long> bitmaps, List<long> oldDelta, ref long directory, long directoryPages)
    {
        int pageSize = pages.PageSize;
        var shadowed = pages.MapShadowed;
        long bitsPer = FreeMap.BitsPerPage(pageSize);
        foreach (long entry in oldDelta)
        {
            long id = FreeMapDelta.PageOf(entry);
            int index = (int)(id / bitsPer); // below bitmaps.Count: the entry is inside the committed page count
            if (shadowed.Add(index)) bitmaps[index] = pages.Shadow(bitmaps[index]);
            FreeMap.SetBit(pages.Page(bitmaps[index]), id % bitsPer, FreeMapDelta.IsFree(entry));
        }
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
            if (FreeMap.DirectoryPagesFor(pageSize, bitmaps.Count) <= directoryPages) return directoryPages;
            pages.FreeRun(directory, directoryPages); // outgrown (a huge commit): take a bigger run and settle again
            directoryPages = DirectoryPagesFor(pageSize, bitmaps.Count + 4);
            directory = pages.AllocateRun(directoryPages);
        }
    }
}
