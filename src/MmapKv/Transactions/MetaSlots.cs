using MmapKv.Format;
using MmapKv.Storage;

namespace MmapKv.Transactions;

/// <summary>
/// The two meta slots (docs/format.md §6) read and written through the storage. The record's encoding and the
/// choice of slot are pure functions of bytes (<see cref="MetaPage"/>, <see cref="MetaSelector"/>); this is where
/// they meet the file.
/// </summary>
internal static unsafe class MetaSlots
{
    /// <summary>Chooses the slot to open (§6.2) from the file as the storage maps it.</summary>
    public static (MetaRecord Meta, int Slot) Select(IStorage storage) => MetaSelector.Select(storage.Base, storage.Length);

    /// <summary>
    /// Writes the record for <paramref name="meta"/> into <paramref name="slot"/> as one store of the whole record
    /// (see <see cref="IStorage.Write"/>).
    /// </summary>
    public static void Write(IStorage storage, int slot, in MetaRecord meta)
    {
        byte* record = stackalloc byte[MetaPage.Size];
        MetaPage.Write(record, meta);
        storage.Write((long)slot * meta.PageSize, new ReadOnlySpan<byte>(record, MetaPage.Size));
    }
}
