using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>
/// Offsets of the 32-byte header that starts every non-meta page (docs/format.md §3).
/// Each offset is derived from the field before it; <see cref="Size"/> closes the list.
/// </summary>
internal static unsafe class PageHeader
{
    public const int ChecksumOffset = 0;                    // u32 CRC32C of the page (or run) after this field
    public const int KindOffset = ChecksumOffset + 4;       // u8 PageKind
    public const int FlagsOffset = KindOffset + 1;          // u8, reserved, MUST be 0
    public const int CountOffset = FlagsOffset + 1;         // u16 entry count (node pages)
    public const int PageIdOffset = CountOffset + 2;        // u64 the page's own id
    public const int TxnIdOffset = PageIdOffset + 8;        // u64 id of the transaction that wrote it
    public const int UpperOffset = TxnIdOffset + 8;         // u32 node: start of the entry heap; run: payload length
    public const int RunPagesOffset = UpperOffset + 4;      // u32 pages in this page's run (1 for node pages)
    public const int Size = RunPagesOffset + 4;

    public static PageKind Kind(byte* page) => (PageKind)page[KindOffset];
    public static byte Flags(byte* page) => page[FlagsOffset];
    public static int Count(byte* page) => Unsafe.ReadUnaligned<ushort>(page + CountOffset);
    public static long PageId(byte* page) => Unsafe.ReadUnaligned<long>(page + PageIdOffset);
    public static long TxnId(byte* page) => Unsafe.ReadUnaligned<long>(page + TxnIdOffset);
    public static uint Upper(byte* page) => Unsafe.ReadUnaligned<uint>(page + UpperOffset);
    public static uint RunPages(byte* page) => Unsafe.ReadUnaligned<uint>(page + RunPagesOffset);
    public static uint Checksum(byte* page) => Unsafe.ReadUnaligned<uint>(page + ChecksumOffset);

    public static void SetCount(byte* page, int count) => Unsafe.WriteUnaligned(page + CountOffset, (ushort)count);
    public static void SetUpper(byte* page, uint upper) => Unsafe.WriteUnaligned(page + UpperOffset, upper);
    public static void SetChecksum(byte* page, uint crc) => Unsafe.WriteUnaligned(page + ChecksumOffset, crc);
    public static void SetTxnId(byte* page, long txn) => Unsafe.WriteUnaligned(page + TxnIdOffset, txn);
    public static void SetPageId(byte* page, long id) => Unsafe.WriteUnaligned(page + PageIdOffset, id);

    /// <summary>Writes a fresh header. Every field is set, so no stale bytes of a reused page survive.</summary>
    public static void Init(byte* page, PageKind kind, long pageId, long txnId, uint upper, uint runPages)
    {
        Unsafe.WriteUnaligned(page + ChecksumOffset, 0u);
        page[KindOffset] = (byte)kind;
        page[FlagsOffset] = 0;
        Unsafe.WriteUnaligned(page + CountOffset, (ushort)0);
        Unsafe.WriteUnaligned(page + PageIdOffset, pageId);
        Unsafe.WriteUnaligned(page + TxnIdOffset, txnId);
        Unsafe.WriteUnaligned(page + UpperOffset, upper);
        Unsafe.WriteUnaligned(page + RunPagesOffset, runPages);
    }
}
