using System.Diagnostics;
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
/// The state behind the <see cref="WriteTransaction"/> handle: one per database, reused by every write transaction,
/// so that beginning and committing one allocates nothing. Each transaction is one generation of this object; every
/// entry point takes the caller's generation and checks it (<see cref="KvTransaction.Use(long)"/>, invariant L5), so a
/// handle, tree or cursor kept after its transaction ended cannot reach the next transaction's state.
/// </summary>
internal sealed class WriteState : KvTransaction
{
    // Everything here is the database's and reused by the next write transaction (WriterSession).
    private readonly WriterSession _session;
    private TransactionPages _pages = null!;
    private TreeWriter _writer = null!;
    private long _version;
    // The generation a failed write aborted: its handles are told so, not just that it ended.
    private long _failedGeneration;

    /// <summary>Creates the database's write state; it is idle until <see cref="Begin"/>.</summary>
    public WriteState(KvDatabase db) : base(db, 0, db.Writer!.MainTree, db.Writer!.CatalogTree, generation: 1)
    {
        _session = db.Writer!;
        _ended = true;
    }

    /// <summary>
    /// Starts a write transaction based on the newest commit, <paramref name="baseMeta"/>, and returns its generation.
    /// Under the writer lock; the previous transaction has retired its generation, so nothing else uses the object.
    /// </summary>
    public long Begin(in MetaRecord baseMeta, PageAllocator allocator)
    {
        Debug.Assert(_ended);
        _session.Begin(baseMeta); // resets the session's tree states, which this object shares
        TxnId = baseMeta.TxnId + 1;
        _pages = TransactionPages.Begin(Db.ContextAt(allocator.PageCount), allocator, TxnId, Db.Options.VerifyChecksums, Db.Growth!,
            baseMeta.NewestSavepoint);
        _writer = _session.WriterFor(_pages);
        _version = 0;
        _endReason = null;
        _ended = false;
        return CurrentGeneration;
    }

    /// <inheritdoc/>
    public override bool IsReadOnly => false;

    internal override PageContext Context => _pages.Context;

    internal override long Version => _version;

    internal void Put(long generation, TreeState tree, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckKey(tree, key);
        using var use = Use(generation);
        ThrowIfEnded(tree);
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        _pages.HasInserted = true; // from now on this transaction may not use the delete reserve
        try { _writer.Put(tree, key, value); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
    }

    internal bool Put(long generation, TreeState tree, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, PutMode mode)
    {
        CheckKey(tree, key);
        if ((uint)mode > (uint)PutMode.UpdateOnly) ThrowBadMode(mode);
        using var use = Use(generation);
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

    internal Span<byte> Reserve(long generation, TreeState tree, ReadOnlySpan<byte> key, int length)
    {
        CheckKey(tree, key);
        if (length < 0) ThrowBadLength(length);
        using var use = Use(generation);
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

    internal bool Delete(long generation, TreeState tree, ReadOnlySpan<byte> key)
    {
        CheckKey(tree, key);
        using var use = Use(generation);
        ThrowIfEnded(tree);
        _version++;
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages (docs/durability.md §12.5)
        try { return _writer.Delete(tree, key); }
        catch (Exception e) { Fail(e); throw; }
        finally { Guard?.EndWrite(); }
    }

    /// <summary>A plain tree of this generation, created (empty) if it does not exist (see <see cref="OpenOrCreate"/>).</summary>
    internal KvTree OpenTree(long generation, string name, KeyOrder? order = null, IKeyComparer? comparer = null) =>
        new(this, OpenOrCreate(generation, name, multimap: false, order, comparer), generation);


    /// <summary>
    /// The named tree of the kind asked for, created (empty) if it does not exist, with key order
    /// <paramref name="order"/> or <paramref name="comparer"/> (neither: an existing tree's stored order, bytewise for a
    /// new one); a tree of the other kind is <see cref="InvalidOperationException"/> (<see cref="KvTransaction.CheckKind"/>).
    /// </summary>
    internal TreeState OpenOrCreate(long generation, string name, bool multimap, KeyOrder? order = null, IKeyComparer? comparer = null)
    {
        using var use = Use(generation);
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

    internal bool DeleteTree(long generation, string name)
    {
        using var use = Use(generation);
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

    internal Savepoint CreateSavepoint(long generation)
    {
        using var use = Use(generation);
        ThrowIfEnded();
        _version++; // ends Reserve spans, as a write does
        Guard?.BeginWrite(); // DebugSpans: reserved values reach their pages before they are frozen
        try
        {
            _writer.Reset(); // the append fast path's pages are frozen now
            _pages.CreateSavepoint();
            var sp = new Savepoint(this, generation, _pages.SavepointCount - 1, MainTree.Desc, MainTree.Dirty, _session.Catalog.Save());
            _session.Savepoints.Add(sp);
            return sp;
        }
        finally { Guard?.EndWrite(); }
    }

    internal void RollbackTo(long generation, Savepoint savepoint)
    {
        ArgumentNullException.ThrowIfNull(savepoint);
        using var use = Use(generation);
        ThrowIfEnded();
        if (!ReferenceEquals(savepoint.Owner, this) || savepoint.Generation != generation)
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
    internal long CreatePersistentSavepoint(long generation)
    {
        using var use = Use(generation);
        ThrowIfUntouchable("make a persistent savepoint");
        try { return _session.Persistent.Create(Context, _pages, TxnId, TimeProvider.System); }
        catch (CorruptDatabaseException e) { Fail(e); throw; }
    }

    /// <summary>Deletes persistent savepoint <paramref name="id"/> at this commit. Used by <see cref="KvDatabase.DeletePersistentSavepoint"/>.</summary>
    internal bool DeletePersistentSavepoint(long generation, long id)
    {
        using var use = Use(generation);
        ThrowIfUntouchable("delete a persistent savepoint");
        try { return _session.Persistent.Delete(Context, _pages, id, Db.MaxKeySize); }
        catch (Exception e) { Fail(e); throw; }
    }

    /// <summary>Makes the state of persistent savepoint <paramref name="id"/> this transaction's. Used by <see cref="KvDatabase.RestoreSavepoint"/>.</summary>
    internal void RestoreSavepoint(long generation, long id)
    {
        using var use = Use(generation);
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

    internal void Commit(long generation, Durability? durability)
    {
        DurableTicket ticket;
        using (Use(generation)) ticket = CommitInMemory(durability);
        ticket.Wait();
    }

    internal Task CommitAsync(long generation, Durability? durability, CancellationToken cancellationToken)
    {
        DurableTicket ticket;
        using (Use(generation)) ticket = CommitInMemory(durability);
        return ticket.WaitAsync(cancellationToken);
    }

    /// <summary>Ends the transaction with its commit (<see cref="CommitBuilder"/>); the writer lock is released
    /// whatever happens, as the use ends (<see cref="Ended"/>). The wait for durability comes after, outside the lock,
    /// so group commit can batch.</summary>
    private DurableTicket CommitInMemory(Durability? durability)
    {
        ThrowIfEnded();
        Guard?.EndSpans(); // reserved values reach their pages before the commit seals them
        EndThisUse();
        _pages.ReleaseSavepoints(); // the commit runs with every page editable again (W6)
        return Db.Committer!.Commit(_session.BaseMeta, _pages, _writer, MainTree, CatalogTree, _session.Catalog,
            _session.Persistent, durability ?? Db.Options.Durability);
    }

    /// <summary>A write failed midway: the tree may be half-changed, so the transaction is aborted at once.</summary>
    private void Fail(Exception cause)
    {
        Db.Pipeline.PoisonIfStorageFailed(cause);
        _endReason = FailedReason;
        _failedGeneration = CurrentGeneration; // inside the failed write's use, so still its generation
        EndThisUse();
        _pages.Abort();
    }

    private const string FailedReason = "The transaction was aborted because a write in it failed.";

    /// <summary>Ends the transaction of <paramref name="generation"/> without committing; a stale generation (a
    /// second Dispose, or a copy's) does nothing.</summary>
    internal void Dispose(long generation)
    {
        if (IsStale(generation)) return;
        using var use = Use(generation);
        if (_ended) return;
        Guard?.DropSpans();
        EndThisUse();
        _pages.Abort();
    }

    /// <summary>
    /// The one end of a transaction (commit, dispose or a failed write), called inside its use: it is ended at once,
    /// and when the use ends its generation retires (every handle, tree and cursor of it goes stale) and then the
    /// writer lock is released (<see cref="Ended"/>). So the next transaction, which reuses this object, never
    /// shares a generation with this one.
    /// </summary>
    private void EndThisUse()
    {
        _ended = true;
        EndAtExit();
    }

    /// <summary>The generation has retired: the next writer may begin.</summary>
    private protected override void Ended() => Db.EndWrite();

    private protected override string? StaleReason(long generation) => generation == _failedGeneration ? FailedReason : null;
}
