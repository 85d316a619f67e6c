using MmapKv.FreeSpace;
using MmapKv.BTree;
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
    private readonly Dictionary<string, TreeState> _trees = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deletedTrees = new(StringComparer.Ordinal);
    private long _version;

    internal WriteTransaction(KvDatabase db, Snapshot baseSnapshot, PageAllocator allocator)
        : base(db, baseSnapshot.TxnId + 1, baseSnapshot.Meta)
    {
        _base = baseSnapshot;
        _pages = new TransactionPages(db.ContextAt(allocator.PageCount), allocator, TxnId, db.Options.VerifyChecksums, db.Growth!);
        _writer = new TreeWriter(_pages, db.WriterBuffers);
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
            EncodeTreeName(name);
            state = new TreeState(name, default) { Dirty = true };
            _pages.HasInserted = true; // a new tree is a new catalog entry: not a delete-only transaction
            _trees[name] = state;
        }
        return new KvTree(this, state);
    }

    internal override TreeState? FindTree(string name)
    {
        if (_trees.TryGetValue(name, out var state)) return state;
        if (_deletedTrees.Contains(name)) return null;
        state = ReadCatalog(name);
        if (state is not null) _trees[name] = state;
        return state;
    }

    /// <summary>Names of the named trees as this transaction sees them (its own creations and deletions included), in byte order of their UTF-8 names.</summary>
    private protected override IReadOnlyList<string> TreeNames()
    {
        var names = new SortedSet<string>(CommittedTreeNames(), Utf8Order.Instance);
        names.ExceptWith(_deletedTrees);
        names.UnionWith(_trees.Keys);
        return names.ToList();
    }

    /// <summary>Orders names as the catalog stores them: bytewise by UTF-8 encoding.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();
        public int Compare(string? x, string? y) =>
            TreeName.Encode(x!, int.MaxValue).AsSpan().SequenceCompareTo(TreeName.Encode(y!, int.MaxValue));
    }

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
        state.Deleted = true;
        _trees.Remove(name);
        _deletedTrees.Add(name);
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
        long target;
        using (Use()) target = CommitInMemory();
        if (durability == Durability.Immediate || Db.DeferredFlushDue) Db.Pipeline.WaitDurable(target);
    }

    /// <summary>Commits, awaiting durability without blocking a thread.</summary>
    /// <remarks>
    /// The flush runs on a dedicated thread, so no thread-pool thread blocks on msync. Cancelling stops only the
    /// wait for durability: the commit itself has happened and becomes durable with the next flush.
    /// </remarks>
    public Task CommitAsync(Durability? durability = null, CancellationToken cancellationToken = default)
    {
        long target;
        using (Use()) target = CommitInMemory();
        if ((durability ?? Db.Options.Durability) == Durability.Immediate || Db.DeferredFlushDue)
            return Db.Pipeline.WaitDurableAsync(target, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The in-memory half of a commit, under the writer lock: write the catalog, the free map and the checksums,
    /// publish the snapshot and queue it for flushing. Returns the txn id whose durability the caller needs.
    /// </summary>
    private long CommitInMemory()
    {
        ThrowIfEnded();
        _ended = true;
        try
        {
            if (!HasChanges())
            {
                _pages.Abort();
                return Db.Current.TxnId; // nothing new; Immediate still waits for earlier deferred commits
            }
            foreach (string name in _deletedTrees)
                if (!_trees.ContainsKey(name)) _writer.Delete(CatalogTree, EncodeTreeName(name));
            Span<byte> desc = stackalloc byte[TreeDescriptor.Size];
            foreach (var (name, state) in _trees)
            {
                if (!state.Dirty) continue;
                state.Desc.Write(desc);
                _writer.Put(CatalogTree, EncodeTreeName(name), desc);
            }
            var (freeFirst, freePages) = _pages.WriteFreeMap(_base.Meta.FreeMapPage, _base.Meta.FreeMapPages);
            var ranges = _pages.SealDirtyPages();
            var meta = new MetaRecord
            {
                PageSize = Db.PageSize,
                TxnId = TxnId,
                PageCount = _pages.PageCount,
                FreeMapPage = freeFirst,
                FreeMapPages = freePages,
                Main = MainTree.Desc,
                Catalog = CatalogTree.Desc,
            };
            // Published first: a database disposed meanwhile refuses the commit, and the allocator is then untouched for the abort below.
            Db.Publish(new Snapshot(meta), ranges);
            _pages.Commit();
            return TxnId;
        }
        catch (Exception e)
        {
            Db.Pipeline.PoisonIfStorageFailed(e);
            _pages.Abort();
            throw;
        }
        finally
        {
            Db.EndWrite();
        }
    }

    private bool HasChanges()
    {
        if (MainTree.Dirty || _deletedTrees.Count > 0) return true;
        foreach (var state in _trees.Values) if (state.Dirty) return true;
        return false;
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
