using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>One persistent savepoint as the table records it (docs/format.md §13.1): the state it captured.</summary>
/// <param name="Id">The txn id of the commit that made it; that state's trees are the ones captured.</param>
/// <param name="CreatedUnixMs">When it was made, in milliseconds since the Unix epoch (UTC).</param>
/// <param name="Main">The default tree of the captured state.</param>
/// <param name="Catalog">The catalog tree of the captured state.</param>
internal readonly record struct SavepointRecord(long Id, long CreatedUnixMs, TreeDescriptor Main, TreeDescriptor Catalog);

/// <summary>
/// The persistent-savepoint table run (docs/format.md §13.1): a page header (kind 6), a count, and one 128-byte
/// entry per savepoint, oldest first. Pure layout: the caller has checked that the run lies inside the file (M5).
/// </summary>
internal static unsafe class SavepointTableLayout
{
    public const int CountOffset = PageHeader.Size;         // u32 savepoints in the table
    public const int PaddingOffset = CountOffset + 4;        // u32 zero
    public const int EntriesOffset = PaddingOffset + 4;      // entries, oldest first
    public const int EntrySize = 128;

    // Fields of one entry.
    public const int IdOffset = 0;                                          // u64 txn id of the commit that made it
    public const int CreatedOffset = IdOffset + 8;                          // i64 Unix milliseconds, UTC
    public const int MainOffset = CreatedOffset + 8;                        // TreeDescriptor
    public const int CatalogOffset = MainOffset + TreeDescriptor.Size;      // TreeDescriptor
    public const int EntryReservedOffset = CatalogOffset + TreeDescriptor.Size; // zero to the end of the entry

    /// <summary>The most persistent savepoints a database keeps at once (M5).</summary>
    public const int MaxSavepoints = 256;

    /// <summary>Bytes after the header: the count, the padding and the entries.</summary>
    public static long PayloadLength(int count) => EntriesOffset - PageHeader.Size + (long)count * EntrySize;

    /// <summary>Pages of a run holding <paramref name="count"/> entries.</summary>
    public static long RunPagesFor(int pageSize, int count) => (PageHeader.Size + PayloadLength(count) + pageSize - 1) / pageSize;

    /// <summary>Writes the table into the run at <paramref name="run"/> (checksum not set: sealing does it).</summary>
    public static void Write(byte* run, long first, long txnId, long runPages, int pageSize, IReadOnlyList<SavepointRecord> entries)
    {
        new Span<byte>(run, checked((int)(runPages * pageSize))).Clear();
        PageHeader.Init(run, PageKind.SavepointTable, first, txnId, (uint)PayloadLength(entries.Count), (uint)runPages);
        Unsafe.WriteUnaligned(run + CountOffset, (uint)entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            byte* e = run + EntriesOffset + (long)i * EntrySize;
            var r = entries[i];
            Unsafe.WriteUnaligned(e + IdOffset, r.Id);
            Unsafe.WriteUnaligned(e + CreatedOffset, r.CreatedUnixMs);
            r.Main.Write(e + MainOffset);
            r.Catalog.Write(e + CatalogOffset);
        }
    }

    /// <summary>
    /// Reads and validates the table <paramref name="meta"/> names (K4, docs/format.md §13.1) into
    /// <paramref name="into"/>; returns what is wrong, or null. The checksum is always verified: the writer trusts
    /// the table to say which pages it must keep.
    /// </summary>
    public static string? TryRead(byte* run, in MetaRecord meta, List<SavepointRecord> into)
    {
        into.Clear();
        long first = meta.SavepointTable, pages = meta.SavepointTablePages;
        long bytes = pages * meta.PageSize;
        if (PageHeader.Kind(run) != PageKind.SavepointTable || PageHeader.PageId(run) != first || PageHeader.RunPages(run) != pages)
            return $"page {first} is not the savepoint table run the meta record names ({pages} pages)";
        if (PageHeader.Flags(run) != 0) return $"savepoint table {first}: unknown header flags";
        if (PageHeader.TxnId(run) > meta.TxnId) return $"savepoint table {first}: written by txn {PageHeader.TxnId(run)}, newer than the state";
        if (PageHeader.Checksum(run) != Checksum.OfPage(run, bytes)) return $"savepoint table {first}: checksum mismatch";
        uint count = Unsafe.ReadUnaligned<uint>(run + CountOffset);
        if (count != meta.SavepointCount) return $"savepoint table {first}: holds {count} savepoints, the meta record says {meta.SavepointCount}";
        if (PageHeader.Upper(run) != PayloadLength(meta.SavepointCount) || PageHeader.Size + PageHeader.Upper(run) > bytes
            || RunPagesFor(meta.PageSize, meta.SavepointCount) != pages)
            return $"savepoint table {first}: payload length {PageHeader.Upper(run)} does not fit {count} entries in {pages} pages";
        if (Unsafe.ReadUnaligned<uint>(run + PaddingOffset) != 0) return $"savepoint table {first}: padding is not zero";
        long previous = 0;
        for (int i = 0; i < count; i++)
        {
            byte* e = run + EntriesOffset + (long)i * EntrySize;
            long id = Unsafe.ReadUnaligned<long>(e + IdOffset);
            if (id <= previous || id > meta.TxnId) return $"savepoint table {first}: entry {i} has id {id}, not above {previous} and at most txn {meta.TxnId}";
            for (int b = EntryReservedOffset; b < EntrySize; b++)
                if (e[b] != 0) return $"savepoint table {first}: entry {i} has reserved bytes set";
            var main = TreeDescriptor.Read(e + MainOffset);
            var catalog = TreeDescriptor.Read(e + CatalogOffset);
            if (main.Flags != 0 || catalog.Flags != 0) return $"savepoint {id}: its default or catalog descriptor has flags set";
            if ((main.Validate(meta.PageCount) ?? catalog.Validate(meta.PageCount)) is { } bad) return $"savepoint {id}: {bad}";
            into.Add(new SavepointRecord(id, Unsafe.ReadUnaligned<long>(e + CreatedOffset), main, catalog));
            previous = id;
        }
        return previous == meta.NewestSavepoint ? null
            : $"savepoint table {first}: its newest savepoint is {previous}, the meta record says {meta.NewestSavepoint}";
    }
}
