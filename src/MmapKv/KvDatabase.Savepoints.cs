using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Transactions;

namespace MmapKv;

public sealed partial class KvDatabase
{
    /// <summary>
    /// Makes a persistent savepoint of the newest commit, like redb's: <see cref="RestoreSavepoint"/> can bring the
    /// whole database (every tree) back to it later, after any number of commits and reopens. It is committed in a
    /// write transaction of its own, so it waits for the writer like <see cref="BeginWrite()"/>.
    /// </summary>
    /// <remarks>
    /// A savepoint keeps every page its state uses out of reuse until it is deleted (docs/format.md §13): while one
    /// exists, the file grows by what the commits after it rewrite. <see cref="KvStats.SavepointPages"/> shows how
    /// much that is. A database keeps at most 256 at once. <see cref="CopyTo(string, bool)"/> with compaction copies
    /// the newest state only, without savepoints; a plain copy keeps them.
    /// </remarks>
    /// <param name="durability">How the commit that records it is made durable; null: <see cref="KvOptions.Durability"/>.</param>
    /// <returns>The savepoint's id (the txn id of the commit that made it).</returns>
    /// <exception cref="InvalidOperationException">The database is read-only.</exception>
    /// <exception cref="MmapKvException">256 savepoints exist already.</exception>
    public long CreatePersistentSavepoint(Durability? durability = null)
    {
        using var tx = BeginWrite();
        long id = tx.CreatePersistentSavepoint();
        tx.Commit(durability ?? Options.Durability);
        return id;
    }

    /// <summary>
    /// Brings every tree back to the state of persistent savepoint <paramref name="id"/>, in one write transaction of
    /// its own: what was committed after it is gone, and the savepoints made after it are deleted. The savepoint itself
    /// stays, so it can be restored again. Open read transactions keep their snapshots.
    /// </summary>
    /// <param name="id">The savepoint's id.</param>
    /// <param name="durability">How the restoring commit is made durable; null: <see cref="KvOptions.Durability"/>.</param>
    /// <exception cref="KeyNotFoundException">There is no savepoint <paramref name="id"/> (nothing changed).</exception>
    /// <exception cref="InvalidOperationException">The database is read-only.</exception>
    public void RestoreSavepoint(long id, Durability? durability = null)
    {
        using var tx = BeginWrite();
        tx.RestoreSavepoint(id);
        tx.Commit(durability ?? Options.Durability);
    }

    /// <summary>Deletes persistent savepoint <paramref name="id"/>, freeing the pages only it kept (in a write transaction of its own).</summary>
    /// <param name="id">The savepoint's id.</param>
    /// <param name="durability">How the deleting commit is made durable; null: <see cref="KvOptions.Durability"/>.</param>
    /// <returns>False if there is no such savepoint.</returns>
    /// <exception cref="InvalidOperationException">The database is read-only.</exception>
    public bool DeletePersistentSavepoint(long id, Durability? durability = null)
    {
        using var tx = BeginWrite();
        if (!tx.DeletePersistentSavepoint(id)) return false;
        tx.Commit(durability ?? Options.Durability);
        return true;
    }

    /// <summary>The persistent savepoints of the newest commit, oldest first, with the pages each keeps alone.</summary>
    /// <remarks>Works on a read-only database too. Counting the pages walks what changed around each savepoint, not the whole file.</remarks>
    /// <exception cref="CorruptDatabaseException">The savepoint table or a page of a savepoint's state is damaged.</exception>
    public IReadOnlyList<PersistentSavepointInfo> GetPersistentSavepoints()
    {
        using var tx = BeginRead(internalUse: true);
        return DescribeSavepoints(tx.Context, tx.SnapshotMeta, MaxKeySize);
    }

    internal static IReadOnlyList<PersistentSavepointInfo> DescribeSavepoints(PageContext ctx, in MetaRecord meta, int maxKeySize)
    {
        var records = new List<SavepointRecord>();
        PersistentSavepoints.Load(ctx, meta, records);
        var result = new PersistentSavepointInfo[records.Count];
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            result[i] = new PersistentSavepointInfo(r.Id, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedUnixMs), r.Main.Entries,
                PersistentSavepoints.ExclusivePages(ctx, records, i, meta.Main, meta.Catalog, maxKeySize));
        }
        return result;
    }
}
