using System.Runtime.CompilerServices;
using MmapKv.Format;

namespace MmapKv.Pages;

/// <summary>
/// In-place edits of a dirty node page (layout: docs/format.md §4). Callers guarantee the page is dirty (W1 in
/// TransactionPages) and was validated when it was read. An entry's "raw" form is its key followed by its tail.
/// </summary>
internal static unsafe class NodeWriter
{
    /// <summary>
    /// Starts an empty node page. The whole page is written, not just the header: every byte the checksum covers is
    /// then ours, so no stale bytes of the page's earlier life (which a failed sync may have left unwritten on disk
    /// while the cache shows them) can end up under a checksum, and no deleted data lingers in a reused page.
    /// </summary>
    public static void Init(byte* p, PageKind kind, long id, long txnId, int pageSize)
    {
        new Span<byte>(p, pageSize).Clear();
        PageHeader.Init(p, kind, id, txnId, (uint)pageSize, 1);
    }

    private static byte* Slot(byte* p, int i) => SlotArray.At(p, i);
    private static int EntryOffset(byte* p, int i) => SlotArray.EntryOffset(SlotArray.At(p, i));
    public static int KeyLength(byte* p, int i) => SlotArray.KeyLength(SlotArray.At(p, i));

    /// <summary>Bytes of entry <paramref name="i"/>: key plus tail.</summary>
    public static int RawSize(byte* p, int i, bool leaf)
    {
        int key = KeyLength(p, i);
        if (!leaf) return key + NodeLayout.BranchTailSize;
        uint info = Unsafe.ReadUnaligned<uint>(p + EntryOffset(p, i) + key);
        return (info & NodeLayout.OverflowFlag) != 0
            ? key + NodeLayout.OverflowTailSize
            : key + NodeLayout.ValueInfoSize + (int)(info & NodeLayout.LengthMask);
    }

    public static ReadOnlySpan<byte> Raw(byte* p, int i, bool leaf) => new(p + EntryOffset(p, i), RawSize(p, i, leaf));

    public static ReadOnlySpan<byte> Key(byte* p, int i) => new(p + EntryOffset(p, i), KeyLength(p, i));

    /// <summary>Slot and entry bytes in use.</summary>
    public static int UsedBytes(byte* p, bool leaf)
    {
        int count = PageHeader.Count(p), used = 0;
        for (int i = 0; i < count; i++) used += NodeLayout.SlotSize + RawSize(p, i, leaf);
        return used;
    }

    /// <summary>
    /// Whether <see cref="UsedBytes"/> is at least <paramref name="bytes"/>, stopping as soon as it is: a removal asks
    /// this of every page it edits, and on most pages the first few entries already answer.
    /// </summary>
    public static bool UsesAtLeast(byte* p, bool leaf, int bytes)
    {
        int count = PageHeader.Count(p), used = 0;
        for (int i = 0; i < count && used < bytes; i++) used += NodeLayout.SlotSize + RawSize(p, i, leaf);
        return used >= bytes;
    }

    public static int Capacity(int pageSize) => pageSize - PageHeader.Size;

    public static void SetChild(byte* p, int i, long child) =>
        Unsafe.WriteUnaligned(p + EntryOffset(p, i) + KeyLength(p, i), child);

    public static long Child(byte* p, int i) => Unsafe.ReadUnaligned<long>(p + EntryOffset(p, i) + KeyLength(p, i));

    /// <summary>
    /// Inserts a raw entry at <paramref name="index"/>, compacting the heap if the space exists but is fragmented.
    /// Returns false, changing nothing, when the page is too full.
    /// </summary>
    public static bool TryInsert(byte* p, int pageSize, bool leaf, int index, ReadOnlySpan<byte> raw, int keyLength, byte* scratch)
    {
        int count = PageHeader.Count(p);
        int need = NodeLayout.SlotSize + raw.Length;
        int lower = PageHeader.Size + count * NodeLayout.SlotSize;
        if ((int)PageHeader.Upper(p) - lower < need)
        {
            if (Capacity(pageSize) - UsedBytes(p, leaf) < need) return false;
            Compact(p, pageSize, leaf, scratch);
        }
        int upper = (int)PageHeader.Upper(p) - raw.Length;
        raw.CopyTo(new Span<byte>(p + upper, raw.Length));
        byte* s = Slot(p, index);
        Buffer.MemoryCopy(s, s + NodeLayout.SlotSize, (count - index) * NodeLayout.SlotSize, (count - index) * NodeLayout.SlotSize);
        SlotArray.Write(s, raw[..keyLength], upper);
        PageHeader.SetUpper(p, (uint)upper);
        PageHeader.SetCount(p, count + 1);
        return true;
    }

    /// <summary>Appends at the end of the slot array; the caller has checked that it fits.</summary>
    public static void Append(byte* p, ReadOnlySpan<byte> raw, int keyLength)
    {
        int count = PageHeader.Count(p);
        int upper = (int)PageHeader.Upper(p) - raw.Length;
        raw.CopyTo(new Span<byte>(p + upper, raw.Length));
        SlotArray.Write(Slot(p, count), raw[..keyLength], upper);
        PageHeader.SetUpper(p, (uint)upper);
        PageHeader.SetCount(p, count + 1);
    }

    /// <summary>Removes slot <paramref name="index"/>; its entry bytes become a hole until the next compaction.</summary>
    public static void RemoveAt(byte* p, int index)
    {
        int count = PageHeader.Count(p);
        byte* s = Slot(p, index);
        int tail = (count - index - 1) * NodeLayout.SlotSize;
        Buffer.MemoryCopy(s + NodeLayout.SlotSize, s, tail, tail);
        PageHeader.SetCount(p, count - 1);
    }

    /// <summary>Rewrites the heap without holes, keeping slot order.</summary>
    public static void Compact(byte* p, int pageSize, bool leaf, byte* scratch)
    {
        Buffer.MemoryCopy(p, scratch, pageSize, pageSize);
        int count = PageHeader.Count(p);
        int upper = pageSize;
        for (int i = 0; i < count; i++)
        {
            int size = RawSize(scratch, i, leaf);
            upper -= size;
            Buffer.MemoryCopy(scratch + EntryOffset(scratch, i), p + upper, size, size);
            SlotArray.SetEntryOffset(Slot(p, i), upper);
        }
        PageHeader.SetUpper(p, (uint)upper);
    }

    /// <summary>Empties a page, keeping its id, kind and writer.</summary>
    public static void Clear(byte* p, int pageSize)
    {
        PageHeader.SetCount(p, 0);
        PageHeader.SetUpper(p, (uint)pageSize);
    }
}
