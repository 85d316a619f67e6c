using MmapKv.Format;
using MmapKv.FreeSpace;

namespace MmapKv.Transactions;

/// <summary>
/// A commit step (docs/format.md §8.1): stamps the checksum (§2) on every page and run a transaction wrote, and
/// returns them as the page ranges the flush must msync (§8.2).
/// </summary>
internal static unsafe class PageSealer
{
    /// <summary>
    /// Seals every dirty page and run of <paramref name="pages"/>; fills <paramref name="ranges"/> (cleared first, and
    /// owned by the caller, so a commit allocates no list) with the sorted, coalesced page ranges.
    /// </summary>
    public static void Seal(TransactionPages pages, List<(long First, long Pages)> ranges)
    {
        int pageSize = pages.PageSize;
        ranges.Clear();
        ranges.EnsureCapacity(pages.DirtyCount);
        foreach (long id in pages.DirtyPages)
        {
            byte* p = pages.Page(id);
            PageHeader.SetChecksum(p, Checksum.OfPage(p, pageSize));
            ranges.Add((id, 1));
        }
        foreach (var (start, count) in pages.DirtyRuns)
        {
            byte* p = pages.Page(start);
            PageHeader.SetChecksum(p, Checksum.OfPage(p, count * pageSize));
            ranges.Add((start, count));
        }
        ranges.Sort();
        int w = 0;
        for (int r = 1; r < ranges.Count; r++)
        {
            var (s, l) = ranges[w];
            if (ranges[r].Item1 == s + l) ranges[w] = (s, l + ranges[r].Item2);
            else ranges[++w] = ranges[r];
        }
        if (ranges.Count > 0) ranges.RemoveRange(w + 1, ranges.Count - w - 1);
    }
}
