using MmapKv.Format;
using MmapKv.Storage;

namespace MmapKv.Transactions;

/// <summary>
/// The two meta slots (docs/format.md §6) read and written through the storage. The record's encoding and the
/// choice of slot are pure functions of bytes (<see cref="MetaPage"/>, <see cref="CommitList"/>,
/// <see cref="MetaSelector"/>); this is where they meet the file.
/// </summary>
internal static unsafe class MetaSlots
{
    /// <summary>Chooses the slot to open (§6.2) from the file as the storage maps it.</summary>
    public static MetaSelection Select(IStorage storage) => MetaSelector.Select(storage.Base, storage.Length);

    /// <summary>How often <see cref="PageSize"/> reads both slots before it believes that neither holds a record.</summary>
    internal const int PageSizeAttempts = 50;

    /// <summary>
    /// The file's page size, without choosing a slot (<see cref="MetaSelector.PageSize"/>), for a process that joins
    /// others. Their writers rewrite one slot at a time (D3), but two commits can land between this process's read
    /// of slot 0 and its read of slot 1, so both can read torn (measured under Wine: four processes committing
    /// Deferred). Every record of a file names the same page size, so the read is repeated, a millisecond apart,
    /// before the file is declared damaged: a really damaged file costs its opener about 50 ms more.
    /// <paramref name="beforeRetry"/> (tests) runs before each repeated read, with the number of reads so far.
    /// </summary>
    public static int PageSize(IStorage storage, Action<int>? beforeRetry = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return MetaSelector.PageSize(storage.Base, storage.Length);
            }
            catch (CorruptDatabaseException) when (attempt < PageSizeAttempts)
            {
                beforeRetry?.Invoke(attempt);
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>Writes <paramref name="meta"/> with an empty commit list (an ordered commit, or a new file).</summary>
    public static void Write(IStorage storage, int slot, in MetaRecord meta) =>
        WriteWithList(storage, slot, meta, Array.Empty<(long, uint)>());

    /// <summary>
    /// Writes the whole meta page of <paramref name="slot"/>: the record for <paramref name="meta"/>, the commit
    /// list, and zeros to the end of the page, as one store (see <see cref="IStorage.Write"/>). The record's
    /// checksum covers the list's checksum, so a page torn anywhere is refused at open.
    /// </summary>
    public static void WriteWithList(IStorage storage, int slot, in MetaRecord meta, IReadOnlyList<(long Page, uint Crc)> list) =>
        WriteWithList(storage, slot, meta, list, new byte[meta.PageSize]);

    /// <summary>
    /// The same write as the overload above, composing the page in <paramref name="page"/> (<see cref="MetaRecord.PageSize"/> bytes, cleared here first), so a flush that
    /// owns a buffer allocates none. The bytes written are the same.
    /// </summary>
    public static void WriteWithList(IStorage storage, int slot, in MetaRecord meta, IReadOnlyList<(long Page, uint Crc)> list, byte[] page)
    {
        page.AsSpan(0, meta.PageSize).Clear();
        fixed (byte* p = page)
        {
            uint listChecksum = CommitList.Write(p + CommitList.Offset, list);
            MetaPage.Write(p, meta, list.Count, listChecksum);
        }
        storage.Write((long)slot * meta.PageSize, page.AsSpan(0, meta.PageSize));
    }

    /// <summary>
    /// D5: replaces the record a failed flush wrote into <paramref name="slot"/> with zeros in the map, so that no
    /// open, in this boot or after a power cut, can choose it (the slot holding the durable meta is untouched).
    /// </summary>
    public static void Retract(IStorage storage, int slot, int pageSize) =>
        storage.Write((long)slot * pageSize, new byte[MetaPage.Size]);

    /// <summary>
    /// Quarantine rule at open (R2, D4): everything the opened meta marks free will be reused, so the opened state
    /// must be durable first. It may not be: a process killed before its flush's fdatasync returned leaves the
    /// meta in the page cache only; and after a failed sync the kernel may hold the meta page as clean though it
    /// never reached the disk, so a plain fsync would not write it. Rewriting the page (same bytes) dirties it
    /// again, and the fsync then writes it together with anything else still dirty.
    /// Then, if the other slot holds a newer record that was refused, it is overwritten with a copy of the chosen
    /// page and synced again, still before any reuse: the refused record's pages are free in the opened state,
    /// and once rewritten they could verify by accident (or the record pass M2 after a growth) and win. The copy
    /// is written only after the chosen record is durable, so a power cut in between always leaves one of them.
    /// </summary>
    public static void MakeDurable(IStorage storage, in MetaSelection chosen)
    {
        int pageSize = chosen.Meta.PageSize;
        var page = new ReadOnlySpan<byte>(storage.Base + (long)chosen.Slot * pageSize, pageSize).ToArray();
        storage.Write((long)chosen.Slot * pageSize, page);
        storage.Sync();
        if (!chosen.RefusedNewer) return;
        storage.Write((long)(1 - chosen.Slot) * pageSize, page);
        storage.Sync();
    }
}
