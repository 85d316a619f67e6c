using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>
/// The two meta slots at pages 0 and 1 (docs/format.md §6). A meta record is 256 bytes at the start of its page;
/// the commit list (<see cref="CommitList"/>, §6.4) follows it, and the rest of the page is zero. The CRC32C in the
/// record's last four bytes covers the 252 before it, including the list's length and checksum.
/// </summary>
internal static unsafe class MetaPage
{
    /// <summary>Pages 0 and 1 are the meta slots; tree pages start at 2.</summary>
    public const int Count = 2;

    /// <summary>PNG-style magic: a high byte, a name, CR LF, EOF and LF, so text-mode mangling is detected.</summary>
    public const ulong Magic = 0x0A1A0A0D564B4D89UL; // bytes 89 'M' 'K' 'V' 0D 0A 1A 0A

    /// <summary>5: the free-map directory carries a delta (§7.2), so a commit need not rewrite the bitmap pages;
    /// version 4 readers would ignore it and misread which pages are free (§10). 4: the meta record names the
    /// persistent-savepoint table (§6.1, §13). 3: tree descriptors carry a key order in their flags (§5). 2: the meta
    /// page carries the commit list (§6.4), so a commit needs one device flush.</summary>
    public const uint FormatVersion = 5;

    /// <summary>The oldest version this build opens: a version 4 file is a version 5 file whose directories have no
    /// delta, and a version 3 record a version 4 record without savepoints (its savepoint fields were reserved and
    /// zero), so both are read as version 5, and the next commit writes version 5 (§10). Older files are refused.</summary>
    public const uint OldestReadableVersion = 3;

    public const int MagicOffset = 0;                                   // u64
    public const int VersionOffset = MagicOffset + 8;                   // u32
    public const int PageSizeOffset = VersionOffset + 4;                // u32
    public const int TxnIdOffset = PageSizeOffset + 4;                  // u64
    public const int PageCountOffset = TxnIdOffset + 8;                 // u64
    public const int FreeMapPageOffset = PageCountOffset + 8;          // u64 first page of the free-map directory run, 0 for none
    public const int FreeMapPagesOffset = FreeMapPageOffset + 8;      // u64 pages in the directory run
    public const int MainTreeOffset = FreeMapPagesOffset + 8;          // TreeDescriptor
    public const int CatalogTreeOffset = MainTreeOffset + TreeDescriptor.Size; // TreeDescriptor
    public const int ListCountOffset = CatalogTreeOffset + TreeDescriptor.Size; // u32 entries in the commit list, 0: ordered commit
    public const int ListChecksumOffset = ListCountOffset + 4;         // u32 CRC32C of the commit list's entries
    public const int SavepointTableOffset = ListChecksumOffset + 4;    // u64 first page of the savepoint table run (§13), 0 for none
    public const int SavepointTablePagesOffset = SavepointTableOffset + 8; // u32 pages in that run
    public const int SavepointCountOffset = SavepointTablePagesOffset + 4; // u32 persistent savepoints
    public const int NewestSavepointOffset = SavepointCountOffset + 4; // u64 id of the newest one, 0 for none
    public const int ReservedOffset = NewestSavepointOffset + 8;       // zero up to the checksum
    public const int ChecksumOffset = 252;                              // u32 CRC32C of bytes [0, 252)
    public const int Size = ChecksumOffset + 4;

    /// <summary>Writes <paramref name="meta"/> into a meta record buffer with an empty commit list, checksum last.</summary>
    public static void Write(byte* slot, in MetaRecord meta) => Write(slot, meta, 0, 0);

    /// <summary>Writes <paramref name="meta"/> and the length and checksum of the commit list that follows it, checksum last.</summary>
    public static void Write(byte* slot, in MetaRecord meta, int listCount, uint listChecksum)
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
        Unsafe.WriteUnaligned(slot + ListCountOffset, (uint)listCount);
        Unsafe.WriteUnaligned(slot + ListChecksumOffset, listChecksum);
        Unsafe.WriteUnaligned(slot + SavepointTableOffset, meta.SavepointTable);
        Unsafe.WriteUnaligned(slot + SavepointTablePagesOffset, (uint)meta.SavepointTablePages);
        Unsafe.WriteUnaligned(slot + SavepointCountOffset, (uint)meta.SavepointCount);
        Unsafe.WriteUnaligned(slot + NewestSavepointOffset, meta.NewestSavepoint);
        Unsafe.WriteUnaligned(slot + ChecksumOffset, Checksum.Compute(slot, ChecksumOffset));
    }

    /// <summary>The commit list's length and checksum, from a record that <see cref="TryRead"/> accepted.</summary>
    public static (long Count, uint Checksum) ListOf(byte* slot) =>
        (Unsafe.ReadUnaligned<uint>(slot + ListCountOffset), Unsafe.ReadUnaligned<uint>(slot + ListChecksumOffset));

    /// <summary>
    /// The txn id of a record whose magic and checksum are intact, whether or not it passes the other checks; null
    /// otherwise. The open uses it to find a refused record that could become acceptable later (D4).
    /// </summary>
    public static long? ChecksummedTxn(byte* slot) =>
        Unsafe.ReadUnaligned<ulong>(slot + MagicOffset) == Magic
        && Unsafe.ReadUnaligned<uint>(slot + ChecksumOffset) == Checksum.Compute(slot, ChecksumOffset)
            ? Unsafe.ReadUnaligned<long>(slot + TxnIdOffset) : null;

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
        if (version is < OldestReadableVersion or > FormatVersion)
        {
            problem = $"format version {version}, this build reads {OldestReadableVersion} to {FormatVersion}";
            versionMismatch = true;
            return null;
        }
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
            SavepointTable = Unsafe.ReadUnaligned<long>(slot + SavepointTableOffset),
            SavepointTablePages = Unsafe.ReadUnaligned<uint>(slot + SavepointTablePagesOffset),
            SavepointCount = (int)Math.Min(Unsafe.ReadUnaligned<uint>(slot + SavepointCountOffset), int.MaxValue),
            NewestSavepoint = Unsafe.ReadUnaligned<long>(slot + NewestSavepointOffset),
        };
        // In a version 3 record these bytes were reserved (written zero): it describes a state without savepoints.
        if (version == 3 && meta.HasSavepoints) { problem = "a version 3 record with its reserved savepoint bytes set"; return null; }
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
    /// <summary>First page of the persistent-savepoint table run (docs/format.md §13), 0 when there is none.</summary>
    public long SavepointTable;
    public long SavepointTablePages;
    public int SavepointCount;
    /// <summary>Id of the newest persistent savepoint, 0 when there is none. A tree page written by a commit no newer
    /// than this is retained when freed (K1, docs/format.md §13.2).</summary>
    public long NewestSavepoint;

    /// <summary>Whether any savepoint field is set (a valid record then has all of them, M5).</summary>
    public readonly bool HasSavepoints => SavepointTable != 0 || SavepointTablePages != 0 || SavepointCount != 0 || NewestSavepoint != 0;

    /// <summary>Invariants M1–M5 of docs/format.md §6: everything the record references lies inside the file.</summary>
    public readonly string? Validate(long fileLength)
    {
        if (TxnId < 0) return "negative transaction id";
        if (PageCount < MetaPage.Count) return $"page count {PageCount} is below {MetaPage.Count}";
        if (PageCount > fileLength / PageSize) return $"page count {PageCount} exceeds the file's {fileLength / PageSize} pages (truncated file?)";
        if (FreeMapPage == 0 ? FreeMapPages != 0
            : FreeMapPage < MetaPage.Count || FreeMapPages < 1 || FreeMapPages > PageCount - FreeMapPage)
            return $"free-map directory run {FreeMapPage}+{FreeMapPages} is outside the file";
        // The default and catalog trees are plain and bytewise (docs/format.md §5): no kind or order flags.
        if (Main.Flags != 0) return $"default tree: descriptor flags 0x{Main.Flags:X8}, which MUST be 0";
        if (Catalog.Flags != 0) return $"catalog tree: descriptor flags 0x{Catalog.Flags:X8}, which MUST be 0";
        if (HasSavepoints && (SavepointTable < MetaPage.Count || SavepointTablePages < 1 || SavepointTablePages > PageCount - SavepointTable
                              || SavepointCount < 1 || SavepointCount > SavepointTableLayout.MaxSavepoints
                              || NewestSavepoint < 1 || NewestSavepoint > TxnId))
            return $"savepoint table {SavepointTable}+{SavepointTablePages} ({SavepointCount} savepoints, newest {NewestSavepoint}) is outside the file or inconsistent";
        return Main.Validate(PageCount) is { } m ? "default tree: " + m
             : Catalog.Validate(PageCount) is { } c ? "catalog tree: " + c : null;
    }
}
