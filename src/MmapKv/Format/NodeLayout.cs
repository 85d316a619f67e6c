using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>
/// Layout of branch and leaf pages (docs/format.md §4): the header, then a slot array growing up,
/// then free space, then an entry heap growing down from the end of the page.
/// </summary>
internal static class NodeLayout
{
    // A slot: u32 hint, u16 entry offset, u16 key length (docs/format.md §4.1).
    public const int SlotHintOffset = 0;
    public const int SlotEntryOffset = SlotHintOffset + 4;
    public const int SlotKeyLengthOffset = SlotEntryOffset + 2;
    public const int SlotSize = SlotKeyLengthOffset + 2;

    /// <summary>Leaf entries: key, then u32 value info (bit 31: overflow; bits 0–30: value length).</summary>
    public const int ValueInfoSize = 4;
    public const uint OverflowFlag = 0x8000_0000u;
    public const uint LengthMask = 0x7FFF_FFFFu;

    /// <summary>Bytes after the key of a leaf entry whose value lives in an overflow run: info and first page id.</summary>
    public const int OverflowTailSize = ValueInfoSize + 8;

    /// <summary>Bytes after the key of a branch entry: the child page id.</summary>
    public const int BranchTailSize = 8;

    /// <summary>
    /// The hint of a key: its first four bytes as a big-endian integer, zero-padded. Comparing hints as unsigned
    /// integers orders keys like a bytewise compare of those prefixes, so unequal hints decide a comparison
    /// without touching the key bytes (docs/format.md §4.1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hint(ReadOnlySpan<byte> key)
    {
        if (key.Length >= 4) return BinaryPrimitives.ReadUInt32BigEndian(key);
        uint h = 0;
        for (int i = 0; i < key.Length; i++) h |= (uint)key[i] << (24 - 8 * i);
        return h;
    }

    /// <summary>Entry bytes a leaf needs for a value of <paramref name="valueLength"/> stored inline.</summary>
    public static int InlineLeafEntrySize(int keyLength, int valueLength) => keyLength + ValueInfoSize + valueLength;

    /// <summary>Whether a value is stored inline: its slot and entry fit <see cref="Limits.MaxEntrySize"/>.</summary>
    public static bool IsInline(int pageSize, int keyLength, int valueLength) =>
        (long)SlotSize + keyLength + ValueInfoSize + valueLength <= Limits.MaxEntrySize(pageSize);

    /// <summary>Pages in an overflow run for a value of <paramref name="valueLength"/> bytes (§4.3).</summary>
    public static long OverflowRunPages(int pageSize, long valueLength) =>
        (PageHeader.Size + valueLength + pageSize - 1) / pageSize;
}
