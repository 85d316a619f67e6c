using System.Runtime.CompilerServices;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.FreeSpace;

/// <summary>
/// The free-space map (docs/format.md §7): bitmap pages with one bit per page (1 = free), and a directory run
/// listing the bitmap pages in order, then the delta: the pages whose status differs from their bit (§7.2).
/// Bitmap i covers pages <c>[i·B, (i+1)·B)</c> with B = <see cref="BitsPerPage"/>. Both are copy-on-write like
/// every other page: a commit rewrites the directory, and the bitmap pages only when it folds the delta into them.
/// </summary>
internal static unsafe class FreeMap
{
    public const int CountSize = 8;
    public const int IdSize = 8;

    /// <summary>Pages one bitmap page covers.</summary>
    public static long BitsPerPage(int pageSize) => (long)(pageSize - PageHeader.Size) * 8;

    /// <summary>Bitmap pages needed to cover <paramref name="pageCount"/> pages.</summary>
    public static long BitmapsFor(int pageSize, long pageCount) => (pageCount + BitsPerPage(pageSize) - 1) / BitsPerPage(pageSize);

    /// <summary>Pages in a directory run listing <paramref name="bitmaps"/> bitmap pages and <paramref name="delta"/> delta entries.</summary>
    public static long DirectoryPagesFor(int pageSize, long bitmaps, long delta = 0) =>
        (PageHeader.Size + PayloadSize(bitmaps, delta) + pageSize - 1) / pageSize;

    /// <summary>The directory's payload length (its header's <c>upper</c>, §7.2) with a delta section.</summary>
    public static long PayloadSize(long bitmaps, long delta) => CountSize + bitmaps * IdSize + CountSize + delta * IdSize;

    /// <summary>
    /// The most delta entries a writer keeps before it folds them into the bitmaps (§7.5): a sixteenth of a page in
    /// bytes, 256 with 4 KiB pages, so the delta takes at most half of a one-page directory.
    /// </summary>
    public static int MaxDeltaEntries(int pageSize) => pageSize / 16;

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

    /// <summary>Writes a directory run: the bitmap ids, then the <paramref name="delta"/> entries (sorted, §7.2).</summary>
    public static void WriteDirectory(byte* first, long id, long txnId, long runPages, IReadOnlyList<long> bitmaps, List<long> delta, int pageSize)
    {
        new Span<byte>(first, checked((int)(runPages * pageSize))).Clear(); // every checksummed byte written (NodeWriter.Init)
        PageHeader.Init(first, PageKind.FreeMapDirectory, id, txnId, checked((uint)PayloadSize(bitmaps.Count, delta.Count)), (uint)runPages);
        Unsafe.WriteUnaligned(first + PageHeader.Size, (long)bitmaps.Count);
        byte* p = first + PageHeader.Size + CountSize;
        for (int i = 0; i < bitmaps.Count; i++) Unsafe.WriteUnaligned(p + i * IdSize, bitmaps[i]);
        p += bitmaps.Count * IdSize;
        Unsafe.WriteUnaligned(p, (long)delta.Count);
        p += CountSize;
        for (int i = 0; i < delta.Count; i++) Unsafe.WriteUnaligned(p + i * IdSize, delta[i]);
    }

    /// <summary>
    /// The delta section of a directory this process wrote or verified (<see cref="ReadDirectory"/>): a pointer to its
    /// first entry and the entry count, or null when the directory has none (version 4 and older, §10).
    /// </summary>
    private static byte* DeltaOf(byte* directory, out long entries)
    {
        long count = Unsafe.ReadUnaligned<long>(directory + PageHeader.Size);
        entries = 0;
        if (PageHeader.Upper(directory) == CountSize + count * IdSize) return null;
        byte* p = directory + PageHeader.Size + CountSize + count * IdSize;
        entries = Unsafe.ReadUnaligned<long>(p);
        return p + CountSize;
    }

    /// <summary>Appends the delta entries of a directory this process wrote or verified to <paramref name="delta"/>.</summary>
    public static void ReadDelta(byte* directory, List<long> delta)
    {
        byte* e = DeltaOf(directory, out long entries);
        for (long i = 0; i < entries; i++) delta.Add(Unsafe.ReadUnaligned<long>(e + i * IdSize));
    }

    /// <summary>
    /// Whether page <paramref name="id"/> is free in the state whose map has its directory at <paramref name="directory"/>
    /// (the delta first, then the bitmap), for a map this process wrote. <paramref name="map"/> is page 0.
    /// </summary>
    public static bool IsFree(byte* map, byte* directory, int pageSize, long id)
    {
        byte* e = DeltaOf(directory, out long entries);
        long lo = 0, hi = entries - 1;
        while (lo <= hi)
        {
            long mid = (lo + hi) >>> 1;
            long entry = Unsafe.ReadUnaligned<long>(e + mid * IdSize);
            long page = FreeMapDelta.PageOf(entry);
            if (page == id) return FreeMapDelta.IsFree(entry);
            if (page < id) lo = mid + 1; else hi = mid - 1;
        }
        long bitsPer = BitsPerPage(pageSize);
        long bitmapId = Unsafe.ReadUnaligned<long>(directory + PageHeader.Size + CountSize + id / bitsPer * IdSize);
        return IsBitSet(map + bitmapId * pageSize, id % bitsPer);
    }

    /// <summary>Bit <paramref name="bit"/> of a bitmap page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsBitSet(byte* bitmap, long bit) => (bitmap[PageHeader.Size + (bit >> 3)] >> (int)(bit & 7) & 1) != 0;

    /// <summary>
    /// Reads and verifies the directory of a snapshot (invariants F1–F2): checksum, header, exactly as many bitmap
    /// ids as the page count needs, each inside the file. A snapshot without a map (id 0) has no free pages.
    /// </summary>
    public static FreeMapDirectory ReadDirectory(PageContext ctx, long first, long runPages)
    {
        if (first == 0) return FreeMapDirectory.None;
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
    public static FreeMapDirectory ReadSnapshotDirectory(PageContext ctx, long first)
    {
        if (first < MetaPage.Count || first >= ctx.PageCount) Corrupt.Throw(first, "a free-map directory outside the file");
        byte* p = ctx.Page(first);
        long runPages = PageHeader.RunPages(p);
        if (PageHeader.Kind(p) != PageKind.FreeMapDirectory || PageHeader.PageId(p) != first || runPages < 1 || runPages > ctx.PageCount - first)
            Corrupt.Throw(first, $"expected a free-map directory, found kind {PageHeader.Kind(p)} with {runPages} pages");
        return ReadBitmapIds(ctx, first, runPages, 1, BitmapsFor(ctx.PageSize, ctx.PageCount));
    }

    /// <summary>
    /// The directory's checksum, its bitmap count within [<paramref name="min"/>, <paramref name="max"/>], and its
    /// delta (F1–F3): entries in ascending page order, each page inside the file and not a meta page.
    /// </summary>
    private static FreeMapDirectory ReadBitmapIds(PageContext ctx, long first, long runPages, long min, long max)
    {
        byte* p = ctx.Page(first);
        // The writer trusts the map to say which pages it may overwrite, so it is always verified.
        if (PageHeader.Checksum(p) != Checksum.OfPage(p, runPages * ctx.PageSize))
            Corrupt.Throw(first, "free-map directory checksum mismatch");
        long count = Unsafe.ReadUnaligned<long>(p + PageHeader.Size);
        if (count < min || count > max || DirectoryPagesFor(ctx.PageSize, count) > runPages)
            Corrupt.Throw(first, min == max ? $"free-map directory lists {count} bitmaps; {min} cover the file" : $"free-map directory lists {count} bitmaps; {min} to {max} cover the file");
        var ids = new long[count];
        for (long i = 0; i < count; i++)
        {
            long id = Unsafe.ReadUnaligned<long>(p + PageHeader.Size + CountSize + i * IdSize);
            if (id < MetaPage.Count || id >= ctx.PageCount)
                Corrupt.Throw(first, $"free-map bitmap {i} is page {id}, outside the file");
            ids[i] = id;
        }
        long upper = PageHeader.Upper(p);
        if (upper == CountSize + count * IdSize) return new FreeMapDirectory(ids, []); // no delta section (§10)
        // The delta count is read only once the run is known to hold it, and bounded before it sizes anything.
        long room = (runPages * ctx.PageSize - PageHeader.Size - PayloadSize(count, 0)) / IdSize;
        long entries = DirectoryPagesFor(ctx.PageSize, count, 0) <= runPages ? Unsafe.ReadUnaligned<long>(p + PageHeader.Size + CountSize + count * IdSize) : -1;
        if (entries < 0 || entries > room || upper != PayloadSize(count, entries))
            Corrupt.Throw(first, $"free-map directory payload of {upper} bytes does not match its {count} bitmaps and delta");
        var delta = new long[entries];
        byte* e = p + PageHeader.Size + PayloadSize(count, 0);
        long previous = MetaPage.Count - 1;
        for (long i = 0; i < entries; i++)
        {
            long entry = Unsafe.ReadUnaligned<long>(e + i * IdSize);
            long page = FreeMapDelta.PageOf(entry);
            if (page <= previous || page >= ctx.PageCount)
                Corrupt.Throw(first, $"free-map delta entry {i} names page {page}: entries must ascend and lie in [{MetaPage.Count}, {ctx.PageCount})");
            previous = page;
            delta[i] = entry;
        }
        return new FreeMapDirectory(ids, delta);
    }

    /// <summary>
    /// Calls <paramref name="onRun"/> for every maximal run of free pages (a delta entry overrides its page's bit),
    /// verifying each bitmap page (F3: checksum, header; no bit set for a meta page or past the page count).
    /// </summary>
    public static void ReadFree(PageContext ctx, FreeMapDirectory directory, Action<long, long> onRun)
    {
        long bitsPer = BitsPerPage(ctx.PageSize);
        long[] bitmaps = directory.Bitmaps, delta = directory.Delta;
        int next = 0; // the first delta entry not yet merged
        long runStart = -1, runLength = 0;
        void Add(long page)
        {
            if (runLength > 0 && page == runStart + runLength) { runLength++; return; }
            if (runLength > 0) onRun(runStart, runLength);
            runStart = page;
            runLength = 1;
        }
        // Delta entries below page (exclusive) that call their page free; returns whether page itself has an entry.
        bool MergeUpTo(long page, out bool free)
        {
            free = false;
            for (; next < delta.Length && FreeMapDelta.PageOf(delta[next]) <= page; next++)
            {
                long at = FreeMapDelta.PageOf(delta[next]);
                if (at == page) { free = FreeMapDelta.IsFree(delta[next++]); return true; }
                if (FreeMapDelta.IsFree(delta[next])) Add(at);
            }
            return false;
        }
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
                    if (!MergeUpTo(page, out bool free) || free) Add(page);
                }
            }
        }
        MergeUpTo(long.MaxValue, out _);
        if (runLength > 0) onRun(runStart, runLength);
    }
}
