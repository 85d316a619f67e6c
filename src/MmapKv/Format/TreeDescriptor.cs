using System.Runtime.CompilerServices;
using MmapKv.BTree;

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
    public const int FlagsOffset = DepthOffset + 4;         // u32 flags: key order (bits 0-7), multimap (bit 8); docs/format.md §5
    public const int Size = FlagsOffset + 4;

    /// <summary>Flags bit 8: the tree is a multimap (docs/format.md §5.1), its entries are Format.MultiKey composite keys.</summary>
    public const uint MultimapFlag = 0x100;

    // Key order (§5, docs/design.md §16): bits 0-7 of Flags hold its code; for a custom order bits 16-31 hold the
    // comparer name's hash. Bits 9-15 and, for other orders, 16-31 are zero.
    public const uint KeyOrderMask = 0xFF;
    public const int NameHashShift = 16;
    public const uint OrderBytewise = 0, OrderReverse = 1, OrderInt64 = 2, OrderUInt64 = 3, OrderCustom = 255;

    public static uint KeyOrderCode(uint flags) => flags & KeyOrderMask;

    public static ushort CustomNameHash(uint flags) => (ushort)(flags >> NameHashShift);

    public long Root;
    public long Entries;
    public long BranchPages;
    public long LeafPages;
    public long OverflowPages;
    public int Depth;

    /// <summary>The stored flags (key order bits, multimap bit and, for a custom order, the comparer name's hash).</summary>
    public uint Flags;

    /// <summary>The comparison of a tree not ordered bytewise, null for bytewise (set from <see cref="Flags"/>
    /// when read, bound to the application's comparer when a custom tree is opened). Not stored.</summary>
    public KeyComparer? Order;

    public readonly bool IsEmpty => Root == 0;

    /// <summary>Whether <see cref="MultimapFlag"/> is set.</summary>
    public readonly bool IsMultimap => (Flags & MultimapFlag) != 0;

    /// <summary>The tree's key order.</summary>
    public readonly KeyOrder KeyOrder => (KeyOrder)KeyOrderCode(Flags);

    /// <summary>An empty tree of the given flags (kind and key order).</summary>
    public static TreeDescriptor Empty(uint flags, KeyComparer? order) => new() { Flags = flags, Order = order };

    /// <summary>An empty tree of the same kind and key order: the flags survive, the root and counters do not.</summary>
    public readonly TreeDescriptor Emptied => Empty(Flags, Order);

    /// <summary>Empties the tree, keeping its kind and key order.</summary>
    public void Clear() => this = Emptied;

    public static unsafe TreeDescriptor Read(byte* p) => new()
    {
        Root = Unsafe.ReadUnaligned<long>(p + RootOffset),
        Entries = Unsafe.ReadUnaligned<long>(p + EntriesOffset),
        BranchPages = Unsafe.ReadUnaligned<long>(p + BranchPagesOffset),
        LeafPages = Unsafe.ReadUnaligned<long>(p + LeafPagesOffset),
        OverflowPages = Unsafe.ReadUnaligned<long>(p + OverflowPagesOffset),
        Depth = Unsafe.ReadUnaligned<int>(p + DepthOffset),
        Flags = Unsafe.ReadUnaligned<uint>(p + FlagsOffset),
        Order = KeyComparer.ForFlags(Unsafe.ReadUnaligned<uint>(p + FlagsOffset)),
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
        Unsafe.WriteUnaligned(p + FlagsOffset, Flags);
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
        uint code = KeyOrderCode(Flags);
        if (code is not (OrderBytewise or OrderReverse or OrderInt64 or OrderUInt64 or OrderCustom))
            return $"unknown key order code {code}";
        uint reserved = Flags & ~(KeyOrderMask | MultimapFlag) & (code == OrderCustom ? 0xFFFFu : 0xFFFFFFFFu);
        if (reserved != 0) return $"unknown descriptor flags 0x{Flags:X8} (reserved bits are set)";
        if (IsEmpty)
            return Depth == 0 && Entries == 0 && BranchPages == 0 && LeafPages == 0 && OverflowPages == 0
                ? null : "an empty tree has non-zero counters";
        if (Root < MetaPage.Count || Root >= pageCount) return $"root page {Root} is outside the file (page count {pageCount})";
        if (Depth < 1 || Depth > Limits.MaxTreeDepth) return $"depth {Depth} is out of range";
        if (Entries < 0 || BranchPages < 0 || LeafPages < 1 || OverflowPages < 0) return "negative or zero page counters";
        return null;
    }
}
