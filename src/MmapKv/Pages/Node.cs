using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.Format;

namespace MmapKv.Pages;

/// <summary>
/// A read view of a branch or leaf page in the map (layout: docs/format.md §4). Obtained only through
/// <see cref="PageContext"/>: <see cref="PageContext.Node"/> checks the header of a page read from the file, and
/// <see cref="PageContext.DirtyNode"/> views a page the current write transaction wrote itself. Each accessor
/// checks the slot it reads, so a corrupt offset or length never leads outside the page.
/// </summary>
internal readonly unsafe struct Node
{
    public readonly byte* P;
    public readonly long Id;
    private readonly int _pageSize;
    private readonly int _upper; // heap start, read once: every slot check compares against it

    /// <summary>Only <see cref="PageContext"/> calls this; see the type's remarks for why.</summary>
    internal Node(byte* p, long id, int pageSize)
    {
        P = p;
        Id = id;
        _pageSize = pageSize;
        _upper = (int)PageHeader.Upper(p);
    }

    public int Count => PageHeader.Count(P);
    public bool IsLeaf => PageHeader.Kind(P) == PageKind.Leaf;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Slot(int i) => SlotArray.At(P, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint HintAt(int i) => SlotArray.Hint(Slot(i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> KeyAt(int i)
    {
        byte* s = Slot(i);
        int off = SlotArray.EntryOffset(s);
        int len = SlotArray.KeyLength(s);
        // N5: every entry lies in the heap, [upper, pageSize).
        if (off < _upper || off + len > _pageSize) ThrowBadSlot(P, Id, i);
        return new ReadOnlySpan<byte>(P + off, len);
    }

    /// <summary>Pointer just past the key of entry <paramref name="i"/>, checked to leave <paramref name="tail"/> bytes in the page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Tail(int i, int tail)
    {
        byte* s = Slot(i);
        int off = SlotArray.EntryOffset(s);
        int len = SlotArray.KeyLength(s);
        if (off < _upper || off + len + tail > _pageSize) ThrowBadSlot(P, Id, i);
        return P + off + len;
    }

    public long ChildAt(int i) => Unsafe.ReadUnaligned<long>(Tail(i, NodeLayout.BranchTailSize));

    /// <summary>As <see cref="ChildAt"/>, but false instead of throwing for an index or slot that is not valid: for hints.</summary>
    public bool TryChildAt(int i, out long child)
    {
        child = 0;
        if ((uint)i >= (uint)Count) return false;
        byte* s = Slot(i);
        int off = SlotArray.EntryOffset(s), len = SlotArray.KeyLength(s);
        if (off < _upper || off + len + NodeLayout.BranchTailSize > _pageSize) return false;
        child = Unsafe.ReadUnaligned<long>(P + off + len);
        return true;
    }

    /// <summary>The value of leaf entry <paramref name="i"/>: inline bytes, or the overflow run's bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> ValueAt(int i, PageContext ctx)
    {
        byte* t = Tail(i, NodeLayout.ValueInfoSize);
        uint info = Unsafe.ReadUnaligned<uint>(t);
        int len = (int)(info & NodeLayout.LengthMask);
        if ((info & NodeLayout.OverflowFlag) == 0)
        {
            if (t + NodeLayout.ValueInfoSize + len > P + _pageSize) ThrowBadSlot(P, Id, i);
            return new ReadOnlySpan<byte>(t + NodeLayout.ValueInfoSize, len);
        }
        if (t + NodeLayout.OverflowTailSize > P + _pageSize) ThrowBadSlot(P, Id, i);
        return ctx.OverflowValue(Unsafe.ReadUnaligned<long>(t + NodeLayout.ValueInfoSize), (uint)len);
    }

    /// <summary>Overflow reference of leaf entry <paramref name="i"/>, or 0 for an inline value.</summary>
    public long OverflowPageAt(int i, out uint length)
    {
        byte* t = Tail(i, NodeLayout.ValueInfoSize);
        uint info = Unsafe.ReadUnaligned<uint>(t);
        length = info & NodeLayout.LengthMask;
        if ((info & NodeLayout.OverflowFlag) == 0) return 0;
        if (t + NodeLayout.OverflowTailSize > P + _pageSize) ThrowBadSlot(P, Id, i);
        return Unsafe.ReadUnaligned<long>(t + NodeLayout.ValueInfoSize);
    }

    /// <summary>
    /// Checks every slot of the page (N5, and the key-length limit): each entry, key and tail, lies inside
    /// <c>[upper, pageSize)</c>. Reads check only the slots they touch; a page about to be copied and edited
    /// (copy-on-write, compaction, split, merge) is checked whole first, because those edits read every entry.
    /// Returns null when valid, otherwise what is wrong.
    /// </summary>
    /// <remarks>
    /// Whole-structure checks return the problem instead of throwing, like <see cref="TreeDescriptor.Validate"/>
    /// and <see cref="MetaRecord.Validate"/>: whether a problem is fatal depends on the caller (the writer throws
    /// through <see cref="Corrupt"/>, the open skips a damaged meta slot, a checker reports and goes on). Single
    /// reads (<see cref="KeyAt"/>, <see cref="ValueAt"/>…) throw, because a read has no result to give instead.
    /// </remarks>
    public string? ValidateEntries(int maxKeySize)
    {
        int count = Count;
        bool leaf = IsLeaf;
        int minTail = leaf ? NodeLayout.ValueInfoSize : NodeLayout.BranchTailSize;
        long used = 0;
        for (int i = 0; i < count; i++)
        {
            byte* s = Slot(i);
            int off = SlotArray.EntryOffset(s);
            int len = SlotArray.KeyLength(s);
            if (len > maxKeySize || (leaf && len == 0) || off < _upper || off + len + minTail > _pageSize)
                return SlotProblem(P, i);
            long tail = minTail;
            if (leaf)
            {
                uint info = Unsafe.ReadUnaligned<uint>(P + off + len);
                tail = (info & NodeLayout.OverflowFlag) != 0 ? NodeLayout.OverflowTailSize : NodeLayout.ValueInfoSize + (long)(info & NodeLayout.LengthMask);
                if (off + len + tail > _pageSize) return SlotProblem(P, i);
            }
            used += NodeLayout.SlotSize + len + tail;
        }
        // Entries may each lie inside the page and still overlap; rewriting them packed (compaction, split,
        // merge) must not need more room than the page has.
        if (used > _pageSize - PageHeader.Size)
            return $"entries need {used} bytes, more than the page holds (overlapping entries)";
        return null;
    }

    /// <summary>
    /// Asks the CPU to load the whole slot array at once (x86; elsewhere nothing). A binary search over it is a
    /// chain of dependent loads, each probe a different cache line until the last few: on a page that is not in
    /// the cache, each of those is a memory round trip. Prefetched, they arrive together, about one round trip in all.
    /// The slots lie inside the page (the header check of <see cref="PageContext.Node"/>), and a prefetch never faults.
    /// </summary>
    // Pages start on a cache line (the map is page-aligned). The first line, the header and the first slots, is
    // being read already (the header check); the rest follow.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchSlots() => PageContext.PrefetchLines(P + 64, P + PageHeader.Size + Count * NodeLayout.SlotSize);

    /// <summary>
    /// Index of the first entry whose key is not less than <paramref name="key"/> (Count if none), searching
    /// <c>[from, Count)</c>. Hints decide most comparisons from the slot array alone, so a probe usually costs one
    /// cache line instead of a miss on the key bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int LowerBound(ReadOnlySpan<byte> key, uint hint, int from, out bool exact)
    {
        int lo = from, hi = Count - 1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            uint h = HintAt(mid);
            int c = h != hint ? (h < hint ? -1 : 1) : KeyAt(mid).SequenceCompareTo(key);
            if (c < 0) lo = mid + 1;
            else if (c > 0) hi = mid - 1;
            else { exact = true; return mid; }
        }
        exact = false;
        return lo;
    }

    /// <summary>Branch routing: the last entry whose separator is &lt;= key. Entry 0's key is minus infinity (§4.2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ChildIndex(ReadOnlySpan<byte> key, uint hint)
    {
        int i = LowerBound(key, hint, 1, out bool exact);
        return exact ? i : i - 1;
    }

    /// <summary>
    /// <see cref="LowerBound(ReadOnlySpan{byte}, uint, int, out bool)"/> for a tree not ordered bytewise: hints are
    /// bytewise, so every probe compares whole keys with <paramref name="order"/> (docs/design.md §16).
    /// </summary>
    public int LowerBound(ReadOnlySpan<byte> key, BTree.KeyComparer order, int from, out bool exact)
    {
        int lo = from, hi = Count - 1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            int c = order.Compare(KeyAt(mid), key);
            if (c < 0) lo = mid + 1;
            else if (c > 0) hi = mid - 1;
            else { exact = true; return mid; }
        }
        exact = false;
        return lo;
    }

    /// <summary><see cref="ChildIndex(ReadOnlySpan{byte}, uint)"/> under <paramref name="order"/>.</summary>
    public int ChildIndex(ReadOnlySpan<byte> key, BTree.KeyComparer order)
    {
        int i = LowerBound(key, order, 1, out bool exact);
        return exact ? i : i - 1;
    }

    // Static, taking what it reports: an instance method would take the struct's address and keep it out of
    // registers on the hot search path.
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadSlot(byte* p, long id, int i) => Corrupt.Throw(id, SlotProblem(p, i));

    private static string SlotProblem(byte* p, int i)
    {
        byte* s = SlotArray.At(p, i);
        return $"slot {i} points outside the page (offset {SlotArray.EntryOffset(s)}, key length {SlotArray.KeyLength(s)}, heap start {PageHeader.Upper(p)})";
    }
}
