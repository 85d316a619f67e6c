using System.Runtime.CompilerServices;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.FreeSpace;

/// <summary>
/// The free-space map (docs/format.md §7): bitmap pages with one bit per page (1 = free), and a directory run
/// listing the bitmap pages in order. Bitmap i covers pages <c>[i·B, (i+1)·B)</c> with B = <see cref="BitsPerPage"/>.
/// Both are copy-on-write like every other page: a commit rewrites only the bitmap pages whose bits changed, plus
/// the directory.
/// </summary>
internal static unsafe class FreeMap
{
    public const int CountSize = 8;
    public const int IdSize = 8;

    /// <summary>Pages one bitmap page covers.</summary>
    public static long BitsPerPage(int pageSize) => (long)(pageSize - PageHeader.Size) * 8;

    /// <summary>Bitmap pages needed to cover <paramref name="pageCount"/> pages.</summary>
    public static long BitmapsFor(int pageSize, long pageCount) => (pageCount + BitsPerPage(pageSize) - 1) / BitsPerPage(pageSize);

    /// <summary>Pages in a directory run listing <paramref name="bitmaps"/> bitmap pages.</summary>
    public static long DirectoryPagesFor(int pageSize, long bitmaps) =>
        (PageHeader.Size + CountSize + bitmaps * IdSize + pageSize - 1) / pageSize;

    public static void InitBitmap(byte* page, long id, long txnId, int pageSize)
    {
        PageHeader.Init(page, PageKind.FreeMapBitmap, id, txnId, (uint)(pageSize - PageHeader.Size), 1);
        new Span<byte>(page + PageHeader.Size, pageSize - PageHeader.Size).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetBit(byte* bitmap, long bit, bool free)
    {
        byte* b = bitmap + PageHeader.Size + (bit >> 3);
        byte mask = (byte)(1 << (int)(bit & 7));
        *b = free ? (byte)(*b | mask) : (byte)(*b & ~mask);
    }

    public static void WriteDirectory(byte* first, long id, long txnId, long runPages, IReadOnlyList<long> bitmaps, int pageSize)
    {
        new Span<byte>(first, checked((int)(runPages * pageSize))).Clear(); // every checksummed byte written (NodeWriter.Init)
        PageHeader.Init(first, PageKind.FreeMapDirectory, id, txnId, (uint)(CountSize + bitmaps.Count * IdSize), (uint)runPages);
        Unsafe.WriteUnaligned(first + PageHeader.Size, (long)bitmaps.Count);
        byte* p = first + PageHeader.Size + CountSize;
        for (int i = 0; i < bitmaps.Count; i++) Unsafe.WriteUnaligned(p + i * IdSize, bitmaps[i]);
    }

    /// <summary>
    /// Reads and verifies the directory of a snapshot (invariants F1–F2): checksum, header, exactly as many bitmap
    /// ids as the page count needs, each inside the file. A snapshot without a map (id 0) has no free pages.
    /// </summary>
    public static long[] ReadDirectory(PageContext ctx, long first, long runPages)
    {
        if (first == 0) return Array.Empty<long>();
        byte* p = ctx.Page(first);
        if (PageHeader.Kind(p) != PageKind.FreeMapDirectory || PageHeader.RunPages(p) != runPages || PageHeader.PageId(p) != first)
            Corrupt.Throw(first, $"expected the free-map directory ({runPages} pages), found kind {PageHeader.Kind(p)} with {PageHeader.RunPages(p)} pages");
        long expected = BitmapsFor(ctx.PageSize, ctx.PageCount);
        return ReadBitmapIds(ctx, first, runPages, expected, expected);
    }

    /// <summary>
    /// The bitmap ids of an older snapshot's map, found only by its directory's first page (a snapshot lock names
    /// no more, docs/format.md §12.4), in <paramref name="ctx"/> over the newest commit's pages, which include the
    /// snapshot's. Throws <see cref="CorruptDatabaseException"/> when the page there is not a whole, valid directory.
    /// The snapshot's page count is not known, only that its bitmaps cover it: pages up to
    /// <c>ids.Length × BitsPerPage</c> may belong to it.
    /// </summary>
    public static long[] ReadSnapshotDirectory(PageContext ctx, long first)
    {
        if (first < MetaPage.Count || first >= ctx.PageCount) Corrupt.Throw(first, "a free-map directory outside the file");
        byte* p = ctx.Page(first);
        long runPages = PageHeader.RunPages(p);
        if (PageHeader.Kind(p) != PageKind.FreeMapDirectory || PageHeader.PageId(p) != first || runPages < 1 || runPages > ctx.PageCount - first)
            Corrupt.Throw(first, $"expected a free-map directory, found kind {PageHeader.Kind(p)} with {runPages} pages");
        return ReadBitmapIds(ctx, first, runPages, 1, BitmapsFor(ctx.PageSize, ctx.PageCount));
    }

    /// <summary>The directory's checksum, and its bitmap count within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    private static long[] ReadBitmapIds(PageContext ctx, long first, long runPages, long min, long max)
    {
        byte* p = ctx.Page(first);
        // The writer trusts the map to say which pages it may overwrite, so it is always verified.
        if (PageHeader.Checksum(p) != Checksum.OfPage(p, runPages * ctx.PageSize))
            Corrupt.Throw(first, "free-map directory checksum mismatch");
        long count = Unsafe.ReadUnaligned<long>(p + PageHeader.Size);
        if (count < min || count > max || DirectoryPagesFor(ctx.PageSize, count) > runPages || PageHeader.Upper(p) != CountSize + count * IdSize)
            Corrupt.Throw(first, min == max ? $"free-map directory lists {count} bitmaps; {min} cover the file" : $"free-map directory lists {count} bitmaps; {min} to {max} cover the file");
        var ids = new long[count];
        for (long i = 0; i < count; i++)
        {
            long id = Unsafe.ReadUnaligned<long>(p + PageHeader.Size + CountSize + i * IdSize);
            if (id < MetaPage.Count || id >= ctx.PageCount)
                Corrupt.Throw(first, $"free-map bitmap {i} is page {id}, outside the file");
            ids[i] = id;
        }
        return ids;
    }

    /// <summary>
    /// Calls <paramref name="onRun"/> for every maximal run of free pages, verifying each bitmap page (F3: checksum,
    /// header; no bit set for a meta page or past the page count).
    /// </summary>
    public static void ReadFree(PageContext ctx, long[] bitmaps, Action<long, long> onRun)
    {
        long bitsPer = BitsPerPage(ctx.PageSize);
        long runStart = -1, runLength = 0;
        for (int i = 0; i < bitmaps.Length; i++)
        {
            long id = bitmaps[i];
            byte* p = ctx.Page(id);
            if (PageHeader.Kind(p) != PageKind.FreeMapBitmap || PageHeader.PageId(p) != id)
                Corrupt.Throw(id, $"expected free-map bitmap {i}, found kind {PageHeader.Kind(p)}");
            if (PageHeader.Checksum(p) != Checksum.OfPage(p, ctx.PageSize))
                Corrupt.Throw(id, "free-map bitmap checksum mismatch");
            ulong* words = (ulong*)(p + PageHeader.Size);
            long words64 = (ctx.PageSize - PageHeader.Size) / 8;
            for (long w = 0; w < words64; w++)
            {
                ulong bits = Unsafe.ReadUnaligned<ulong>(words + w);
                if (bits == 0) continue;
                for (int b = 0; b < 64; b++)
                {
                    if ((bits & (1UL << b)) == 0) continue;
                    long page = i * bitsPer + w * 64 + b;
                    if (page < MetaPage.Count || page >= ctx.PageCount)
                        Corrupt.Throw(id, $"free-map bit set for page {page}, which cannot be free");
                    if (runLength > 0 && page == runStart + runLength) { runLength++; continue; }
                    if (runLength > 0) onRun(runStart, runLength);
                    runStart = page;
                    runLength = 1;
                }
            }
        }
        if (runLength > 0) onRun(runStart, runLength);
    }
}
