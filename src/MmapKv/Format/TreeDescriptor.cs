using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>
/// The persistent description of one B+tree: its root and its counters (docs/format.md §5).
/// Stored in the meta page for the default and catalog trees, and as the catalog value of each named tree.
/// </summary>
internal struct TreeDescriptor
{
    public const int RootOffset = 0;                        // u64 root page id, 0 for an empty tree
    public const int EntriesOffset = RootOffset + 8;        // u64 key/value pairs
    public const int BranchPagesOffset = EntriesOffset + 8; // u64
    public const int LeafPagesOffset = BranchPagesOffset + 8; // u64
    public const int OverflowPagesOffset = LeafPagesOffset + 8; // u64 pages in overflow runs
    public const int DepthOffset = OverflowPagesOffset + 8; // u32 levels, 0 for an empty tree
    public const int FlagsOffset = DepthOffset + 4;         // u32 reserved, MUST be 0
    public const int Size = FlagsOffset + 4;

    public long Root;
    public long Entries;
    public long BranchPages;
    public long LeafPages;
    public long OverflowPages;
    public int Depth;

    public readonly bool IsEmpty => Root == 0;

    public static unsafe TreeDescriptor Read(byte* p) => new()
    {
        Root = Unsafe.ReadUnaligned<long>(p + RootOffset),
        Entries = Unsafe.ReadUnaligned<long>(p + EntriesOffset),
        BranchPages = Unsafe.ReadUnaligned<long>(p + BranchPagesOffset),
        LeafPages = Unsafe.ReadUnaligned<long>(p + LeafPagesOffset),
        OverflowPages = Unsafe.ReadUnaligned<long>(p + OverflowPagesOffset),
        Depth = Unsafe.ReadUnaligned<int>(p + DepthOffset),
    };

    public static unsafe TreeDescriptor Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ArgumentException("A tree descriptor is exactly " + Size + " bytes.", nameof(bytes));
        fixed (byte* p = bytes) return Read(p);
    }

    public readonly unsafe void Write(byte* p)
    {
        Unsafe.WriteUnaligned(p + RootOffset, Root);
        Unsafe.WriteUnaligned(p + EntriesOffset, Entries);
        Unsafe.WriteUnaligned(p + BranchPagesOffset, BranchPages);
        Unsafe.WriteUnaligned(p + LeafPagesOffset, LeafPages);
        Unsafe.WriteUnaligned(p + OverflowPagesOffset, OverflowPages);
        Unsafe.WriteUnaligned(p + DepthOffset, Depth);
        Unsafe.WriteUnaligned(p + FlagsOffset, 0u);
    }

    public readonly unsafe void Write(Span<byte> bytes)
    {
        if (bytes.Length < Size) throw new ArgumentException("Too small for a tree descriptor.", nameof(bytes));
        fixed (byte* p = bytes) Write(p);
    }

    /// <summary>
    /// Structural checks that need no page reads: the root lies inside the file, and an empty tree has no pages.
    /// Returns null when valid, otherwise what is wrong.
    /// </summary>
    public readonly string? Validate(long pageCount)
    {
        if (IsEmpty)
            return Depth == 0 && Entries == 0 && BranchPages == 0 && LeafPages == 0 && OverflowPages == 0
                ? null : "an empty tree has non-zero counters";
        if (Root < MetaPage.Count || Root >= pageCount) return $"root page {Root} is outside the file (page count {pageCount})";
        if (Depth < 1 || Depth > Limits.MaxTreeDepth) return $"depth {Depth} is out of range";
        if (Entries < 0 || BranchPages < 0 || LeafPages < 1 || OverflowPages < 0) return "negative or zero page counters";
        return null;
    }
}
