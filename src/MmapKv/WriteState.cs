using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
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
    // Everything but this object is the database's and reused by the next write transaction (WriterSession): a
    // write transaction allocates only its facade. Every entry point checks that the transaction has not ended
    // before it touches them, so a reference kept after the end cannot reach the next transaction's state.
    private readonly WriterSession _session;
    private readonly TransactionPages _pages;
    private readonly TreeWriter _writer;
    private long _version;

    /// <summary>Starts the write transaction based on the newest commit, <paramref name="baseMeta"/>. Under the writer lock.</summary>
    internal WriteTransaction(KvDatabase db, in MetaRecord baseMeta, PageAllocator allocator)
        : base(db, baseMeta.TxnId + 1, Begin(db.Writer!, baseMeta).MainTree, db.Writer!.CatalogTree)
    {
        _session = db.Writer!;
        _pages = TransactionPages.Begin(db.ContextAt(allocator.PageCount), allocator, TxnId, db.Options.VerifyChecksums, db.Growth!,
            baseMeta.NewestSavepoint);
        _writer = _session.WriterFor(_pages);
    }

    // Runs before the base constructor takes the session's tree states, so they are reset first.
    private static WriterSession Begin(WriterSession session, in MetaRecord baseMeta)
    {
        session.Begin(baseMeta);
        return session;
    }

    /// <inheritdoc/>
    public override bool IsReadOnly => false;

    internal override PageContext Context => _pages.Context;

    internal override long Version => _version;

    /// <summary>Inserts or overwrites <paramref name="key"/> in the default tree.</summary>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(MainTree, key, value);

    /// <summary>
    /// Writes <paramref name="key"/> in the default tree as <paramref name="mode"/> says: <see cref="PutMode.Upsert"/>
    /// inserts or overwrites, <see cref="PutMode.InsertOnly"/> writes only a key that is not there, and
    /// <see cref="PutMode.UpdateOnly"/> only one that is. One descent of the tree decides and writes; a refused put
    /// changes nothing.
    /// </summary>
    /// <returns>Whether it wrote (always true for <see cref="PutMode.Upsert"/>).</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a <see cref="PutMode"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, PutMode mode) => Put(MainTree, key, value, mode);

    /// <summary>
    /// Inserts <paramref name="key"/> into the default tree if it is not there; an existing key keeps its value. The
    /// same as <see cref="Put(ReadOnlySpan{byte}, ReadOnlySpan{byte}, PutMode)"/> with <see cref="PutMode.InsertOnly"/>.
    /// </summary>
    /// <returns>Whether it inserted (false: the key was already there).</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool TryAdd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(MainTree, key, value, PutMode.InsertOnly);

    /// <summary>
    /// Inserts or overwrites <paramref name="key"/> in the default tree with a value of <paramref name="length"/>
    /// bytes, and returns those bytes for the caller to fill in place (like LMDB's <c>MDB_RESERVE</c>): the value is
    /// written once, straight into its page, instead of being copied from a buffer.
    /// </summary>
    /// <remarks>
    /// <para>The span is exactly <paramref name="length"/> bytes, where the value lives: inline in its leaf page, or
    /// in an overflow run for a large value. Its contents are unspecified (old bytes of a reused page) until the
    /// caller writes them; write every byte.</para>
    /// <para>It is valid until the next write to this transaction (a <see cref="Put(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>,
    /// <see cref="Delete(ReadOnlySpan{byte})"/>, <see cref="Reserve(ReadOnlySpan{byte}, int)"/>, <see cref="DeleteTree"/>
    /// or a creating <see cref="OpenTree(string)"/>, in any tree), or until the transaction commits or aborts, whichever
    /// comes first. A write may move or split the page, and after commit the page belongs to a committed state that
    /// must never change. Reads (lookups, cursors) in between leave it valid. Writing through the span after that
    /// point is undefined behaviour: it can corrupt other entries or a committed page.</para>
    /// <para>Filling after the reserve is safe for crash consistency: page checksums are computed at commit, over
    /// the bytes written by then, and the page is not flushed as part of a committed state before that.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative (a value is 0 to
    /// <see cref="int.MaxValue"/>, 2^31 − 1, bytes).</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public Span<byte> Reserve(ReadOnlySpan<byte> key, int length) => Reserve(MainTree, key, length);

    /// <summary>Removes <paramref name="key"/> from the default tree. Returns whether it existed.</summary>
    public bool Delete(ReadOnlySpan<byte> key) => Delete(MainTree, key);

    internal void Put(TreeState tree, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckKey(tree, key);
        using var use = Use();
        ThrowIfEnded(tree);
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        _pages.HasInserted = true; // from now on this transaction may not use the delete reserve
        try { _writer.Put(tree, key, value); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
    }

    internal bool Put(TreeState tree, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, PutMode mode)
    {
        CheckKey(tree, key);
        if ((uint)mode > (uint)PutMode.UpdateOnly) ThrowBadMode(mode);
        using var use = Use();
        ThrowIfEnded(tree);
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        _pages.HasInserted = true; // from now on this transaction may not use the delete reserve (even if refused)
        try { return _writer.Put(tree, key, value, mode); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadMode(PutMode mode) => throw new ArgumentOutOfRangeException(nameof(mode), mode,
        $"{mode} is not a {nameof(PutMode)}: use {nameof(PutMode.Upsert)}, {nameof(PutMode.InsertOnly)} or {nameof(PutMode.UpdateOnly)}.");

    internal Span<byte> Reserve(TreeState tree, ReadOnlySpan<byte> key, int length)
    {
        CheckKey(tree, key);
        if (length < 0) ThrowBadLength(length);
        using var use = Use();
        ThrowIfEnded(tree);
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        _pages.HasInserted = true; // from now on this transaction may not use the delete reserve
        Span<byte> span;
        try { span = _writer.Reserve(tree, key, length); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
        return Guard is null ? span : Guard.Reserve(span);
    }

    // Values are 0 to 2^31 - 1 bytes (docs/format.md §4.4: a 31-bit length), which is every non-negative int.
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadLength(int length) => throw new ArgumentOutOfRangeException(nameof(length), length,
        $"A value's length must be from 0 to {int.MaxValue} bytes (2^31 - 1, the largest value).");

    internal bool Delete(TreeState tree, ReadOnlySpan<byte> key)
    {
        CheckKey(tree, key);
        using var use = Use();
        ThrowIfEnded(tree);
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        try { return _writer.Delete(tree, key); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
    }

    /// <summary>Opens the named tree, creating it (empty) if it does not exist. A new tree is kept even if left empty.</summary>
    /// <exception cref="InvalidOperationException">The tree is a multimap tree (open it with <c>OpenMultiTree</c>).</exception>
    public override KvTree OpenTree(string name) => new(this, OpenOrCreate(name, multimap: false));

    /// <summary>Opens the named tree, creating it (empty) with key order <paramref name="order"/> if it does not exist.</summary>
    /// <exception cref="InvalidOperationException">The tree exists with another key order (the message names both),
    /// or is a multimap tree.</exception>
    /// <exception cref="ArgumentException"><paramref name="order"/> is <see cref="KeyOrder.Custom"/>: pass the comparer instead.</exception>
    public override KvTree OpenTree(string name, KeyOrder order) => new(this, OpenOrCreate(name, multimap: false, order));

    /// <summary>Opens the named tree, creating it (empty) ordered by <paramref name="comparer"/> if it does not exist.</summary>
    /// <exception cref="InvalidOperationException">The tree exists with another order, or with a comparer of another
    /// name, or is a multimap tree.</exception>
    public override KvTree OpenTree(string name, IKeyComparer comparer) =>
        new(this, OpenOrCreate(name, multimap: false, null, comparer ?? throw new ArgumentNullException(nameof(comparer))));

    /// <summary>
    /// The named tree of the kind asked for, created (empty) if it does not exist, with key order
    /// <paramref name="order"/> or <paramref name="comparer"/> (neither: an existing tree's stored order, bytewise for a
    /// new one); a tree of the other kind is <see cref="InvalidOperationException"/> (<see cref="KvTransaction.CheckKind"/>).
    /// </summary>
    internal TreeState OpenOrCreate(string name, bool multimap, KeyOrder? order = null, IKeyComparer? comparer = null)
    {
        using var use = Use();
        ThrowIfEnded();
        var state = FindTree(name);
        if (state is not null)
        {
            CheckKind(state, multimap);
            MatchOrder(state, order, comparer);
        }
        else
        {
            var desc = NewTree(order, comparer); // validates the order before anything is created
            if (multimap) desc.Flags |= TreeDescriptor.MultimapFlag;
            state = _session.Catalog.Create(name, CommittedCatalog, desc.Flags);
            state.Desc = desc;
            _pages.HasInserted = true; // a new tree is a new catalog entry: not a delete-only transaction
        }
        return state;
    }

    internal override TreeState? FindTree(string name) => _session.Catalog.Find(name, CommittedCatalog);

    /// <summary>Names of the named trees as this transaction sees them (its own creations and deletions included), in byte order of their UTF-8 names.</summary>
    private protected override IReadOnlyList<string> TreeNames() => _session.Catalog.Names(CommittedCatalog);

    /// <summary>Deletes a named tree and all its contents. Returns whether it existed. Open handles to it become invalid.</summary>
    public bool DeleteTree(string name)
    {
        using var use = Use();
        ThrowIfEnded();
        var state = FindTree(name);
        if (state is null) return false;
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        try { _writer.FreeAll(state); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
        _session.Catalog.Delete(state);
        return true;
    }

    /// <summary>
    /// Makes a savepoint: a later <see cref="RollbackTo"/> undoes everything written after it, in every tree, and the
    /// transaction goes on. Savepoints nest.
    /// </summary>
    /// <remarks>
    /// Making a savepoint costs a copy of the transaction's page bookkeeping (its dirty page sets), and afterwards the
    /// first write to a page written before it copies that page again (W6). A span returned by
    /// <see cref="Reserve(ReadOnlySpan{byte}, int)"/> before the savepoint is no longer valid: the page it points into
    /// now belongs to the savepoint's state.
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public Savepoint CreateSavepoint()
    {
        using var use = Use();
        ThrowIfEnded();
        _version++; // ends Reserve spans, as a write does
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages before they are frozen
        try
        {
            _writer.Reset(); // the append fast path's pages are frozen now
            _pages.CreateSavepoint();
            var sp = new Savepoint(this, _pages.SavepointCount - 1, MainTree.Desc, MainTree.Dirty, _session.Catalog.Save());
            _session.Savepoints.Add(sp);
            return sp;
        }
        finally { Guard?.EndWrite(); }
    }

    /// <summary>
    /// Undoes everything written after <paramref name="savepoint"/>: the default tree, named trees (created or
    /// deleted since, too) and their counts return to what they were when it was made, and the pages written since
    /// go back to the transaction for reuse. The savepoint stays and can be rolled back to again; savepoints made
    /// after it are dropped. The transaction goes on: it can write more and commit.
    /// </summary>
    /// <remarks>
    /// Spans from <see cref="Reserve(ReadOnlySpan{byte}, int)"/> and the key and value of cursors are no longer
    /// valid. A cursor keeps its place by key, as after any write: its next move finds its key in the restored tree.
    /// A handle or cursor of a tree created after the savepoint throws <see cref="InvalidOperationException"/>; one of
    /// a tree deleted after it works again.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="savepoint"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The savepoint belongs to another transaction, or was dropped by a
    /// rollback to an earlier one.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public void RollbackTo(Savepoint savepoint)
    {
        ArgumentNullException.ThrowIfNull(savepoint);
        using var use = Use();
        ThrowIfEnded();
        if (!ReferenceEquals(savepoint.Owner, this))
            throw new InvalidOperationException("The savepoint belongs to another transaction.");
        if (savepoint.Dropped)
            throw new InvalidOperationException("The savepoint was dropped by a rollback to an earlier savepoint.");
        _version++;
        Guard?.BeginWrite(); // DebugSpans: as any write, the spans handed out so far end here
        try
        {
            _writer.Reset();
            _pages.RollbackTo(savepoint.Depth);
            MainTree.Desc = savepoint.MainDesc;
            MainTree.Dirty = savepoint.MainDirty;
            _session.Catalog.Restore(savepoint.Catalog);
            var list = _session.Savepoints;
            for (int i = savepoint.Depth + 1; i < list.Count; i++) list[i].Dropped = true;
            list.RemoveRange(savepoint.Depth + 1, list.Count - savepoint.Depth - 1);
        }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
    }

    /// <summary>
    /// Makes a persistent savepoint of the state this transaction is based on (docs/format.md §13); it becomes part
    /// of the database when this transaction commits. Used by <see cref="KvDatabase.CreatePersistentSavepoint"/>.
    /// </summary>
    internal long CreatePersistentSavepoint()
    {
        using var use = Use();
        ThrowIfUntouchable("make a persistent savepoint");
        try { return _session.Persistent.Create(Context, _pages, TxnId, TimeProvider.System); }
        catch (CorruptDatabaseException e) { Fail(e); throw; }
    }

    /// <summary>Deletes persistent savepoint <paramref name="id"/> at this commit. Used by <see cref="KvDatabase.DeletePersistentSavepoint"/>.</summary>
    internal bool DeletePersistentSavepoint(long id)
    {
        using var use = Use();
        ThrowIfUntouchable("delete a persistent savepoint");
        try { return _session.Persistent.Delete(Context, _pages, id, Db.MaxKeySize); }
        catch (Exception e) { Fail(e); throw; }
    }

    /// <summary>Makes the state of persistent savepoint <paramref name="id"/> this transaction's. Used by <see cref="KvDatabase.RestoreSavepoint"/>.</summary>
    internal void RestoreSavepoint(long id)
    {
        using var use = Use();
        ThrowIfUntouchable("restore a persistent savepoint");
        SavepointRecord target;
        try { target = _session.Persistent.Restore(Context, _pages, id, Db.MaxKeySize); }
        catch (KeyNotFoundException) { throw; } // nothing was changed
        catch (Exception e) { Fail(e); throw; }
        _version++;
        MainTree.Desc = target.Main;
        MainTree.Dirty = true;
        CatalogTree.Desc = target.Catalog;
        CatalogTree.Dirty = true;
    }

    // Persistent-savepoint changes work on the base state's trees: nothing may have been written or opened before them.
    private void ThrowIfUntouchable(string what)
    {
        ThrowIfEnded();
        if (_version != 0 || MainTree.Dirty || _session.Catalog.HasChanges || _session.Savepoints.Count != 0)
            throw new InvalidOperationException($"To {what}, the write transaction must not have written anything first.");
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
        Guard?.EndSpans(); // reserved values reach their pages before the commit seals them
        _ended = true;
        try
        {
            _pages.ReleaseSavepoints(); // the commit runs with every page editable again (W6)
            return Db.Committer!.Commit(_session.BaseMeta, _pages, _writer, MainTree, CatalogTree, _session.Catalog,
                _session.Persistent, durability);
        }
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
