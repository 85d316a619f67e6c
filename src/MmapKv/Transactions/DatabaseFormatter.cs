using MmapKv.Format;
using MmapKv.Storage;

namespace MmapKv.Transactions;

/// <summary>
/// Creates a new, empty database file atomically: it is written and synced under a temporary name, then linked
/// into place. A crash during creation leaves either no file or a complete one, never an empty file.
/// </summary>
internal static unsafe class DatabaseFormatter
{
    public static void CreateFile(string path, KvOptions options)
    {
        string temp = $"{path}.creating-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using (var storage = MappedStorage.Open(temp, readOnly: false, 2L * options.PageSize, createNew: true, options.CreateMode, reportAs: path))
        {
            Format(storage, options.PageSize);
        }
        MappedStorage.TryPublish(temp, path); // if another process created it first, we open theirs
    }

    /// <summary>Writes the two meta pages of an empty database (docs/format.md §6.3: txn 0 in slot 0, slot 1 left invalid) and syncs.</summary>
    public static void Format(IStorage storage, int pageSize)
    {
        storage.Grow(2L * pageSize);
        new Span<byte>(storage.Base, 2 * pageSize).Clear();
        var meta = new MetaRecord { PageSize = pageSize, TxnId = 0, PageCount = MetaPage.Count };
        MetaSlots.Write(storage, 0, meta);
        storage.Flush(0, 2L * pageSize);
        storage.Sync();
    }
}
