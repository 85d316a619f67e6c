using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>
/// The two meta slots at pages 0 and 1 (docs/format.md §6). A meta record is 256 bytes at the start of its page;
/// the rest of the page is zero. The CRC32C in the last four bytes covers the 252 before it.
/// </summary>
internal static unsafe class MetaPage
{
    /// <summary>Pages 0 and 1 are the meta slots; tree pages start at 2.</summary>
    public const int Count = 2;

    /// <summary>PNG-style magic: a high byte, a name, CR LF, EOF and LF, so text-mode mangling is detected.</summary>
    public const ulong Magic = 0x0A1A0A0D564B4D89UL; // bytes 89 'M' 'K' 'V' 0D 0A 1A 0A

    public const uint FormatVersion = 1;

    public const int MagicOffset = 0;                                   // u64
    public const int VersionOffset = MagicOffset + 8;                   // u32
    public const int PageSizeOffset = VersionOffset + 4;                // u32
    public const int TxnIdOffset = PageSizeOffset + 4;                  // u64
    public const int PageCountOffset = TxnIdOffset + 8;                 // u64
    public const int FreeMapPageOffset = PageCountOffset + 8;          // u64 first page of the free-map directory run, 0 for none
    public const int FreeMapPagesOffset = FreeMapPageOffset + 8;      // u64 pages in the directory run
    public const int MainTreeOffset = FreeMapPagesOffset + 8;          // TreeDescriptor
    public const int CatalogTreeOffset = MainTreeOffset + TreeDescriptor.Size; // TreeDescriptor
    public const int ReservedOffset = CatalogTreeOffset + TreeDescriptor.Size; // zero up to the checksum
    public const int ChecksumOffset = 252;                              // u32 CRC32C of bytes [0, 252)
    public const int Size = ChecksumOffset + 4;

    /// <summary>Writes <paramref name="meta"/> into a meta record buffer, checksum last.</summary>
    public static void Write(byte* slot, in MetaRecord meta)
    {
        new Span<byte>(slot, Size).Clear();
        Unsafe.WriteUnaligned(slot + MagicOffset, Magic);
        Unsafe.WriteUnaligned(slot + VersionOffset, FormatVersion);
        Unsafe.WriteUnaligned(slot + PageSizeOffset, (uint)meta.PageSize);
        Unsafe.WriteUnaligned(slot + TxnIdOffset, meta.TxnId);
        Unsafe.WriteUnaligned(slot + PageCountOffset, meta.PageCount);
        Unsafe.WriteUnaligned(slot + FreeMapPageOffset, meta.FreeMapPage);
        Unsafe.WriteUnaligned(slot + FreeMapPagesOffset, meta.FreeMapPages);
        meta.Main.Write(slot + MainTreeOffset);
        meta.Catalog.Write(slot + CatalogTreeOffset);
        Unsafe.WriteUnaligned(slot + ChecksumOffset, Checksum.Compute(slot, ChecksumOffset));
    }

    /// <summary>
    /// Reads and validates one slot. Returns null and sets <paramref name="problem"/> when the slot is not a valid
    /// meta record for a file of <paramref name="fileLength"/> bytes.
    /// </summary>
    public static MetaRecord? TryRead(byte* slot, long fileLength, out string? problem, out bool versionMismatch)
    {
        versionMismatch = false;
        if (Unsafe.ReadUnaligned<ulong>(slot + MagicOffset) != Magic) { problem = "bad magic"; return null; }
        if (Unsafe.ReadUnaligned<uint>(slot + ChecksumOffset) != Checksum.Compute(slot, ChecksumOffset)) { problem = "checksum mismatch"; return null; }
        uint version = Unsafe.ReadUnaligned<uint>(slot + VersionOffset);
        if (version != FormatVersion) { problem = $"format version {version}, this build reads {FormatVersion}"; versionMismatch = true; return null; }
        int pageSize = (int)Unsafe.ReadUnaligned<uint>(slot + PageSizeOffset);
        if (!Limits.IsValidPageSize(pageSize)) { problem = $"invalid page size {pageSize}"; return null; }
        var meta = new MetaRecord
        {
            PageSize = pageSize,
            TxnId = Unsafe.ReadUnaligned<long>(slot + TxnIdOffset),
            PageCount = Unsafe.ReadUnaligned<long>(slot + PageCountOffset),
            FreeMapPage = Unsafe.ReadUnaligned<long>(slot + FreeMapPageOffset),
            FreeMapPages = Unsafe.ReadUnaligned<long>(slot + FreeMapPagesOffset),
            Main = TreeDescriptor.Read(slot + MainTreeOffset),
            Catalog = TreeDescriptor.Read(slot + CatalogTreeOffset),
        };
        problem = meta.Validate(fileLength);
        return problem is null ? meta : null;
    }
}

/// <summary>The decoded content of a meta slot: one committed state of the database.</summary>
internal struct MetaRecord
{
    public int PageSize;
    public long TxnId;
    public long PageCount;
    public long FreeMapPage;
    public long FreeMapPages;
    public TreeDescriptor Main;
    public TreeDescriptor Catalog;

    /// <summary>Invariants M1–M4 of docs/format.md §6: everything the record references lies inside the file.</summary>
    public readonly string? Validate(long fileLength)
    {
        if (TxnId < 0) return "negative transaction id";
        if (PageCount < MetaPage.Count) return $"page count {PageCount} is below {MetaPage.Count}";
        if (PageCount > fileLength / PageSize) return $"page count {PageCount} exceeds the file's {fileLength / PageSize} pages (truncated file?)";
        if (FreeMapPage == 0 ? FreeMapPages != 0
            : FreeMapPage < MetaPage.Count || FreeMapPages < 1 || FreeMapPages > PageCount - FreeMapPage)
            return $"free-map directory run {FreeMapPage}+{FreeMapPages} is outside the file";
        return Main.Validate(PageCount) is { } m ? "default tree: " + m
             : Catalog.Validate(PageCount) is { } c ? "catalog tree: " + c : null;
    }
}
