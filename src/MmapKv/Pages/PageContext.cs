using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using MmapKv.Format;

namespace MmapKv.Pages;

/// <summary>
/// How a transaction reaches pages: the map's base, the page size, and the page count of its snapshot.
/// Every page id read from the file passes through here, so an id outside the snapshot can never be dereferenced.
/// </summary>
internal readonly unsafe struct PageContext
{
    public readonly byte* Base;
    public readonly int PageSize;
    public readonly int PageShift;
    /// <summary>Pages [0, PageCount) exist in this snapshot; everything else is out of bounds.</summary>
    public readonly long PageCount;
    /// <summary>Verifies checksums on first touch when <c>KvOptions.VerifyChecksums</c> is on; otherwise null.</summary>
    public readonly PageVerifier? Verifier;

    public PageContext(byte* basePtr, int pageSize, long pageCount, PageVerifier? verifier = null)
    {
        Base = basePtr;
        PageSize = pageSize;
        PageShift = System.Numerics.BitOperations.Log2((uint)pageSize);
        PageCount = pageCount;
        Verifier = verifier;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Page(long id) => Base + (id << PageShift);

    /// <summary>
    /// Asks the CPU to start loading page <paramref name="id"/> into the cache, a hint only: nothing is read and
    /// nothing can fault (a prefetch never does), and an id outside the snapshot is ignored. A scan calls it for the
    /// next leaf while it reads the current one, so the next page's memory latency overlaps with that work.
    /// </summary>
    public void Prefetch(long id)
    {
        if ((ulong)(id - MetaPage.Count) >= (ulong)(PageCount - MetaPage.Count)) return;
        byte* p = Base + (id << PageShift);
        PrefetchLines(p, p + PageSize);
    }

    /// <summary>
    /// Asks the CPU to load every 64-byte line from <paramref name="start"/> (on a line boundary) up to
    /// <paramref name="end"/>: x86 only, since .NET offers no Arm prefetch intrinsic. A hint: nothing is read, and a
    /// prefetch never faults.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchLines(byte* start, byte* end)
    {
        if (!Sse.IsSupported) return;
        for (byte* line = start; line < end; line += 64) Sse.Prefetch0(line);
    }

    /// <summary>
    /// A B+tree node page, checked to be inside the snapshot, of the expected kind, with a plausible slot array
    /// (docs/format.md §4, invariants N1–N3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Node Node(long id, PageKind expected)
    {
        if ((ulong)(id - MetaPage.Count) >= (ulong)(PageCount - MetaPage.Count)) ThrowOutOfRange(id, PageCount);
        byte* p = Base + (id << PageShift);
        Verifier?.Verify(id, p, 1, PageSize);
        int count = PageHeader.Count(p);
        uint upper = PageHeader.Upper(p);
        if (PageHeader.Kind(p) != expected || count == 0 || upper > (uint)PageSize
            || PageHeader.Size + count * NodeLayout.SlotSize > (int)upper)
            ThrowBadNode(id, expected, p);
        return new Node(p, id, PageSize);
    }

    /// <summary>The txn id in the header of page <paramref name="id"/> (the commit that wrote it), checked to be inside the snapshot.</summary>
    public long TxnOf(long id)
    {
        if ((ulong)(id - MetaPage.Count) >= (ulong)(PageCount - MetaPage.Count)) ThrowOutOfRange(id, PageCount);
        return PageHeader.TxnId(Base + (id << PageShift));
    }

    /// <summary>
    /// A node page the current write transaction allocated and wrote itself (a dirty page): its header is the
    /// writer's own, so nothing is checked. Never use it for a page id read from the file.
    /// </summary>
    public Node DirtyNode(long id) => new(Page(id), id, PageSize);

    /// <summary>The value bytes of an overflow run, checked against the run header and the snapshot (§4.3).</summary>
    public ReadOnlySpan<byte> OverflowValue(long first, uint length)
    {
        long pages = NodeLayout.OverflowRunPages(PageSize, length);
        if (first < MetaPage.Count || first >= PageCount || pages > PageCount - first) ThrowOutOfRange(first, PageCount);
        byte* p = Page(first);
        Verifier?.Verify(first, p, pages, PageSize);
        if (PageHeader.Kind(p) != PageKind.Overflow || PageHeader.Upper(p) != length || PageHeader.RunPages(p) != pages)
            Corrupt.Throw(first, $"overflow run header does not match its reference (kind {PageHeader.Kind(p)}, length {PageHeader.Upper(p)} vs {length}, pages {PageHeader.RunPages(p)} vs {pages})");
        return new ReadOnlySpan<byte>(p + PageHeader.Size, (int)length);
    }

    // Message formatting stays in these non-inlined helpers, out of the inlined Node() on the read path.
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOutOfRange(long id, long pageCount) =>
        Corrupt.Throw(id, $"page id is outside the database (page count {pageCount})");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadNode(long id, PageKind expected, byte* p) =>
        Corrupt.Throw(id,
            $"expected a {expected} page, found kind {PageHeader.Kind(p)} with {PageHeader.Count(p)} entries and heap start {PageHeader.Upper(p)}");
}
