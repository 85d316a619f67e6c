using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Transactions;

namespace MmapKv;

/// <summary>
/// The one open write transaction. It sees its own uncommitted writes. <see cref="Commit()"/> publishes them
/// atomically; disposing without committing discards them. If any write fails (for example with
/// <see cref="DatabaseFullException"/>), the transaction is aborted and further calls throw.
/// </summary>
public sealed class WriteTransaction : KvTransaction
{
    private readonly Snapshot _base;
    private readonly TransactionPages _pages;
    private readonly TreeWriter _writer;
    private readonly CatalogChanges _catalog = new();
    private long _version;

    internal WriteTransaction(KvDatabase db, Snapshot baseSnapshot, PageAllocator allocator)
        : base(db, baseSnapshot.TxnId + 1, baseSnapshot.Meta)
    {
        _base = baseSnapshot;
        _pages = TransactionPages.Begin(db.ContextAt(allocator.PageCount), allocator, TxnId, db.Options.VerifyChecksums, db.Growth!);
        _writer = db.Writer!.WriterFor(_pages);
    }

    /// <inheritdoc/>
    public override bool IsReadOnly => false;

    internal override PageContext Context => _pages.Context;

    internal override long Version => _version;

    /// <summary>Inserts or overwrites <paramref name="key"/> in the default tree.</summary>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(MainTree, key, value);

    /// <summary>Removes <paramref name="key"/> from the default tree. Returns whether it existed.</summary>
    public bool Delete(ReadOnlySpan<byte> key) => Delete(MainTree, key);

    internal void Put(TreeState tree, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckKey(key);
        using var use = Use();
        ThrowIfEnded(tree);
        _version++;
        _pages.HasInserted = true; // from now on this transaction may not use the delete reserve
        try { _writer.Put(tree, key, value); }
        catch (Exception e) { Fail(e); throw; }
    }

    internal bool Delete(TreeState tree, ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        using var use = Use();
        ThrowIfEnded(tree);
        _version++;
        try { return _writer.Delete(tree, key); }
        catch (Exception e) { Fail(e); throw; }
    }

    /// <summary>Opens the named tree, creating it (empty) if it does not exist. A new tree is kept even if left empty.</summary>
    public override KvTree OpenTree(string name)
    {
        using var use = Use();
        ThrowIfEnded();
        var state = FindTree(name);
        if (state is null)
        {
            state = _catalog.Create(name, CommittedCatalog);
            _pages.HasInserted = true; // a new tree is a new catalog entry: not a delete-only transaction
        }
        return new KvTree(this, state);
    }

    internal override TreeState? FindTree(string name) => _catalog.Find(name, CommittedCatalog);

    /// <summary>Names of the named trees as this transaction sees them (its own creations and deletions included), in byte order of their UTF-8 names.</summary>
    private protected override IReadOnlyList<string> TreeNames() => _catalog.Names(CommittedCatalog);

    /// <summary>Deletes a named tree and all its contents. Returns whether it existed. Open handles to it become invalid.</summary>
    public bool DeleteTree(string name)
    {
        using var use = Use();
        ThrowIfEnded();
        var state = FindTree(name);
        if (state is null) return false;
        _version++;
        try { _writer.FreeAll(state); }
        catch (Exception e) { Fail(e); throw; }
        _catalog.Delete(state);
        return true;
    }

    /// <summary>Commits with the database's default durability (<see cref="KvOptions.Durability"/>).</summary>
    public void Commit() => Commit(Db.Options.Durability);

    /// <summary>
    /// Commits: the changes become visible to new transactions at once, and durable as <paramref name="durability"/>
    /// says. The transaction ends either way.
    /// </summary>
    /// <exception cref="StorageFailedException">Flushing failed; the commit's durability is unknown and the database
    /// refuses writes until reopened.</exception>
    public void Commit(Durability durability)
    {
        DurableTicket ticket;
        using (Use()) ticket = CommitInMemory(durability);
        ticket.Wait();
    }

    /// <summary>Commits, awaiting durability without blocking a thread.</summary>
    /// <remarks>
    /// The flush runs on a dedicated thread, so no thread-pool thread blocks on msync. Cancelling stops only the
    /// wait for durability: the commit itself has happened and becomes durable with the next flush.
    /// </remarks>
    public Task CommitAsync(Durability? durability = null, CancellationToken cancellationToken = default)
    {
        DurableTicket ticket;
        using (Use()) ticket = CommitInMemory(durability);
        return ticket.WaitAsync(cancellationToken);
    }

    /// <summary>Ends the transaction with its commit (<see cref="CommitBuilder"/>), and releases the writer lock
    /// whatever happens. The wait for durability comes after, outside the lock, so group commit can batch.</summary>
    private DurableTicket CommitInMemory(Durability? durability)
    {
        ThrowIfEnded();
        _ended = true;
        try { return Db.Committer!.Commit(_base, _pages, _writer, MainTree, CatalogTree, _catalog, durability); }
        finally { Db.EndWrite(); }
    }

    /// <summary>A write failed midway: the tree may be half-changed, so the transaction is aborted at once.</summary>
    private void Fail(Exception cause)
    {
        Db.Pipeline.PoisonIfStorageFailed(cause);
        _ended = true;
        _endReason = "The transaction was aborted because a write in it failed.";
        _pages.Abort();
        Db.EndWrite();
    }

    private protected override void End()
    {
        _pages.Abort();
        Db.EndWrite();
    }
}
