using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Format;

namespace MmapKv.Allocation;

/// <summary>
/// Reads and writes the free-list run (docs/format.md §7): a page run whose payload is a count of
/// <c>(start, length)</c> runs of free page ids, in ascending order, neither overlapping nor adjacent.
/// </summary>
internal static unsafe class FreeListCodec
{
    public const int CountSize = 8;
    public const int RunSize = 16;

    /// <summary>Pages needed to store <paramref name="runs"/> runs.</summary>
    public static long PagesFor(int pageSize, long runs) =>
        (PageHeader.Size + CountSize + runs * RunSize + pageSize - 1) / pageSize;

    /// <summary>Turns sorted, distinct ids into maximal runs.</summary>
    public static List<(long Start, long Length)> ToRuns(IEnumerable<long> sortedIds)
    {
        var runs = new List<(long, long)>();
        long start = -1, len = 0;
        foreach (long id in sortedIds)
        {
            if (len > 0 && id == start + len) { len++; continue; }
            if (len > 0) runs.Add((start, len));
            start = id;
            len = 1;
        }
        if (len > 0) runs.Add((start, len));
        return runs;
    }

    public static void Write(byte* first, long pageId, long txnId, long runPages, List<(long Start, long Length)> runs)
    {
        long payload = CountSize + (long)runs.Count * RunSize;
        PageHeader.Init(first, PageKind.FreeList, pageId, txnId, (uint)payload, (uint)runPages);
        byte* p = first + PageHeader.Size;
        Unsafe.WriteUnaligned(p, (long)runs.Count);
        p += CountSize;
        foreach (var (s, l) in runs)
        {
            Unsafe.WriteUnaligned(p, s);
            Unsafe.WriteUnaligned(p + 8, l);
            p += RunSize;
        }
    }

    /// <summary>
    /// Reads the free list of a snapshot, checking invariants F1–F3 of §7: the header matches the meta record, and
    /// every run lies in <c>[2, pageCount)</c>, ascending, without overlap, and clear of the list's own pages.
    /// </summary>
    public static List<(long Start, long Length)> Read(PageContext ctx, long first, long runPages)
    {
        var runs = new List<(long, long)>();
        if (first == 0) return runs;
        byte* p = ctx.Page(first);
        long capacity = runPages * ctx.PageSize - PageHeader.Size - CountSize;
        if (PageHeader.Kind(p) != PageKind.FreeList || PageHeader.RunPages(p) != runPages || PageHeader.PageId(p) != first)
            throw new CorruptDatabaseException(first, $"expected the free-list run of {runPages} pages, found kind {PageHeader.Kind(p)} with {PageHeader.RunPages(p)} pages");
        // The writer trusts this list to say which pages it may overwrite, so its checksum is always verified.
        if (PageHeader.Checksum(p) != Checksum.OfPage(p, runPages * ctx.PageSize))
            throw new CorruptDatabaseException(first, "free-list checksum mismatch");
        long count = Unsafe.ReadUnaligned<long>(p + PageHeader.Size);
        if (count < 0 || count > capacity / RunSize || PageHeader.Upper(p) != CountSize + count * RunSize)
            throw new CorruptDatabaseException(first, $"free-list run count {count} does not fit its {runPages} pages");
        byte* r = p + PageHeader.Size + CountSize;
        long prevEnd = MetaPage.Count - 1;
        for (long i = 0; i < count; i++, r += RunSize)
        {
            long s = Unsafe.ReadUnaligned<long>(r), l = Unsafe.ReadUnaligned<long>(r + 8);
            if (l < 1 || s <= prevEnd || s > ctx.PageCount || l > ctx.PageCount - s)
                throw new CorruptDatabaseException(first, $"free-list run {i} ({s}+{l}) is out of order or outside the file");
            if (s < first + runPages && first < s + l)
                throw new CorruptDatabaseException(first, $"free-list run {i} ({s}+{l}) overlaps the free list itself");
            prevEnd = s + l; // runs are maximal, so the next must start past prevEnd (not adjacent)
            runs.Add((s, l));
        }
        return runs;
    }
}
