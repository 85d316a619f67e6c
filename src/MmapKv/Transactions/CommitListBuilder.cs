using MmapKv.Format;
using MmapKv.FreeSpace;

namespace MmapKv.Transactions;

/// <summary>
/// Builds the commit list of a flush (docs/durability.md §3.2 step 1, format.md §6.4): every page the batch wrote
/// that the flushed state still uses, with the checksum of its bytes.
/// </summary>
/// <remarks>
/// Why only pages in use: a page the batch wrote and freed again may already be rewritten by a later writer (R2b
/// lets it, because its writer is newer than the meta the previous flush took), so its bytes are not stable and
/// listing them could refuse a state that is whole. A page in use in the flushed state is sealed and stays as it is
/// until a newer state is durable (W1, R2), so its checksum stays true as long as the state can be recovered. The
/// flushed state's free map says which pages are in use; it was written by the newest commit of the batch and is
/// part of that state, so it is read here without verification.
/// </remarks>
internal static unsafe class CommitListBuilder
{
    /// <summary>
    /// Fills <paramref name="list"/> (cleared first; the caller's, so a flush allocates none) with the list for the
    /// state <paramref name="meta"/> given the batch's sorted, coalesced page <paramref name="ranges"/>. Returns
    /// false when more than <paramref name="capacity"/> pages would be listed (the flush then commits in order, with
    /// an empty list).
    /// </summary>
    public static bool Build(byte* map, in MetaRecord meta, List<(long First, long Pages)> ranges, int capacity, List<(long Page, uint Crc)> list)
    {
        int pageSize = meta.PageSize;
        long total = 0;
        foreach (var (_, pages) in ranges) total += pages;
        list.Clear();
        list.EnsureCapacity((int)Math.Min(total, capacity + 1L));
        byte* directory = meta.FreeMapPage == 0 ? null : map + meta.FreeMapPage * pageSize;
        foreach (var (first, pages) in ranges)
        {
            for (long id = first; id < first + pages; id++)
            {
                if (directory != null && FreeMap.IsFree(map, directory, pageSize, id)) continue;
                if (list.Count == capacity) return false;
                list.Add((id, CommitList.OfPage(map + id * pageSize, pageSize)));
            }
        }
        return true;
    }

    /// <summary>
    /// Sorts <paramref name="ranges"/> in place and merges the ranges that overlap or touch (a batch's commits may
    /// each have written the same page) into <paramref name="merged"/>, cleared first; returns it.
    /// </summary>
    public static List<(long First, long Pages)> Coalesce(List<(long First, long Pages)> ranges, List<(long First, long Pages)> merged)
    {
        ranges.Sort();
        merged.Clear();
        merged.EnsureCapacity(ranges.Count);
        foreach (var (first, pages) in ranges)
        {
            if (merged.Count > 0 && first <= merged[^1].First + merged[^1].Pages)
            {
                var last = merged[^1];
                merged[^1] = (last.First, Math.Max(last.First + last.Pages, first + pages) - last.First);
            }
            else merged.Add((first, pages));
        }
        return merged;
    }
}
