using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>
/// The commit list (docs/format.md §6.4): the pages a one-flush commit wrote that its state reaches, each with the
/// CRC32C of its bytes. It follows the meta record in the meta page, and the record holds its length and checksum.
/// A record with a list is trusted only when every listed page on disk is what the commit sealed (invariant D1):
/// its meta may have reached the disk before, with or after any of those pages, because one device flush covered
/// them all.
/// </summary>
internal static unsafe class CommitList
{
    public const int Offset = MetaPage.Size;  // the list starts right after the 256-byte record
    public const int PageIdSize = 8;          // u64 page id
    public const int EntrySize = PageIdSize + 4; // then u32 CRC32C of the page's pageSize bytes

    /// <summary>Entries that fit in a meta page (319 with 4 KiB pages). A longer batch commits in order instead.</summary>
    public static int Capacity(int pageSize) => (pageSize - Offset) / EntrySize;

    /// <summary>The checksum a page must have to match its entry: CRC32C of all its bytes, header included.</summary>
    public static uint OfPage(byte* page, int pageSize) => Checksum.Compute(page, pageSize);

    /// <summary>Writes the entries at <paramref name="list"/> (the meta page plus <see cref="Offset"/>); returns their checksum.</summary>
    public static uint Write(byte* list, IReadOnlyList<(long Page, uint Crc)> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            Unsafe.WriteUnaligned(list + i * EntrySize, entries[i].Page);
            Unsafe.WriteUnaligned(list + i * EntrySize + PageIdSize, entries[i].Crc);
        }
        return Checksum.Compute(list, (long)entries.Count * EntrySize);
    }

    /// <summary>
    /// Null when the record in <paramref name="slot"/> (which <see cref="MetaPage.TryRead"/> accepted as
    /// <paramref name="meta"/>) may be trusted: its list is empty (an ordered commit), or the list is intact and
    /// every page it names, in the file mapped at <paramref name="file"/>, has the checksum it lists. Otherwise why not.
    /// Reads only the pages of the list: recovery costs the last batch, never the file.
    /// </summary>
    public static string? Verify(byte* file, byte* slot, in MetaRecord meta)
    {
        var (count, checksum) = MetaPage.ListOf(slot);
        if (count == 0) return null;
        int pageSize = meta.PageSize;
        if (count > Capacity(pageSize)) return $"commit list of {count} entries does not fit a meta page";
        byte* list = slot + Offset;
        if (Checksum.Compute(list, count * EntrySize) != checksum) return "commit list checksum mismatch";
        for (long i = 0; i < count; i++)
        {
            long id = Unsafe.ReadUnaligned<long>(list + i * EntrySize);
            uint crc = Unsafe.ReadUnaligned<uint>(list + i * EntrySize + PageIdSize);
            // M2 already holds, so a page below the page count lies inside the file.
            if (id < MetaPage.Count || id >= meta.PageCount) return $"commit list names page {id}, outside the database";
            if (OfPage(file + id * pageSize, pageSize) != crc) return $"page {id} of the last commit is not on disk as written";
        }
        return null;
    }
}
