using System.Runtime.CompilerServices;
using MmapKv.Format;

namespace MmapKv.Pages;

/// <summary>
/// The one decoder of a node page's slot array (layout: docs/format.md §4.1; offsets in <see cref="NodeLayout"/>).
/// <see cref="Node"/> (bounds-checked reads) and <see cref="NodeWriter"/> (edits of dirty pages) both go through
/// it, so the slot layout is spelled out once. It only decodes: checking a slot against the page is the caller's
/// job, because the read path checks exactly the slots it touches and the writer trusts pages it validated.
/// </summary>
internal static unsafe class SlotArray
{
    /// <summary>Slot <paramref name="i"/> of the node page at <paramref name="page"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* At(byte* page, int i) => page + PageHeader.Size + i * NodeLayout.SlotSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hint(byte* slot) => Unsafe.ReadUnaligned<uint>(slot + NodeLayout.SlotHintOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EntryOffset(byte* slot) => Unsafe.ReadUnaligned<ushort>(slot + NodeLayout.SlotEntryOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int KeyLength(byte* slot) => Unsafe.ReadUnaligned<ushort>(slot + NodeLayout.SlotKeyLengthOffset);

    /// <summary>Writes a whole slot: the hint of <paramref name="key"/>, the entry offset and the key length.</summary>
    public static void Write(byte* slot, ReadOnlySpan<byte> key, int entryOffset)
    {
        Unsafe.WriteUnaligned(slot + NodeLayout.SlotHintOffset, NodeLayout.Hint(key));
        SetEntryOffset(slot, entryOffset);
        Unsafe.WriteUnaligned(slot + NodeLayout.SlotKeyLengthOffset, (ushort)key.Length);
    }

    /// <summary>Moves a slot's entry (compaction); hint and key length stay.</summary>
    public static void SetEntryOffset(byte* slot, int entryOffset) =>
        Unsafe.WriteUnaligned(slot + NodeLayout.SlotEntryOffset, (ushort)entryOffset);
}
