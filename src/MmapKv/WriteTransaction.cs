using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Catalog;

namespace MmapKv;

/// <summary>
/// The one open write transaction. It sees its own uncommitted writes. <see cref="Commit()"/> publishes them
/// atomically; disposing without committing discards them. If any write fails (for example with
/// <see cref="DatabaseFullException"/>), the transaction is aborted and further calls throw.
/// </summary>
/// <remarks>
/// <para>This is a handle, like <see cref="ReadTransaction"/>: beginning and committing a write transaction allocates
/// nothing, because the state behind it is the database's and reused by the next one. Copies of a handle are the same
/// transaction. Once it has ended (committed, disposed or aborted), every copy, and every cursor and tree opened
/// through it, throws <see cref="ObjectDisposedException"/> (<see cref="InvalidOperationException"/> after an abort
/// by a failed write), even while a later write transaction runs; a second <see cref="Dispose"/> does nothing.</para>
/// <para>Spans returned by lookups and cursors point into the memory map. They stay valid until the transaction's
/// next write or its end. A transaction is not bound to a thread (it can cross an <c>await</c>), but must not be used
/// by two threads at once. A <c>default</c> handle was never begun: using it throws
/// <see cref="InvalidOperationException"/>.</para>
/// </remarks>
public readonly struct WriteTransaction : IDisposable
{
    private readonly WriteState? _state;
    private readonly long _generation;

    internal WriteTransaction(WriteState state, long generation)
    {
        _state = state;
        _generation = generation;
        TxnId = state.TxnId;
    }

    /// <summary>The id this transaction will commit as (kept in the handle, so it stays right after the end).</summary>
    public long TxnId { get; }

    /// <summary>Always false.</summary>
    [SuppressMessage("Performance", "CA1822", Justification = "An instance member, like ReadTransaction.IsReadOnly, for code written against either.")]
    public bool IsReadOnly => false;

    /// <summary>Inserts or overwrites <paramref name="key"/> in the default tree.</summary>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var state = State;
        state.Put(_generation, state.MainTree, key, value);
    }

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
    public bool Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, PutMode mode)
    {
        var state = State;
        return state.Put(_generation, state.MainTree, key, value, mode);
    }

    /// <summary>
    /// Inserts <paramref name="key"/> into the default tree if it is not there; an existing key keeps its value. The
    /// same as <see cref="Put(ReadOnlySpan{byte}, ReadOnlySpan{byte}, PutMode)"/> with <see cref="PutMode.InsertOnly"/>.
    /// </summary>
    /// <returns>Whether it inserted (false: the key was already there).</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool TryAdd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var state = State;
        return state.Put(_generation, state.MainTree, key, value, PutMode.InsertOnly);
    }

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
    public Span<byte> Reserve(ReadOnlySpan<byte> key, int length)
    {
        var state = State;
        return state.Reserve(_generation, state.MainTree, key, length);
    }

    /// <summary>Removes <paramref name="key"/> from the default tree. Returns whether it existed.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        var state = State;
        return state.Delete(_generation, state.MainTree, key);
    }

    /// <inheritdoc cref="ReadTransaction.TryGet(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var state = State;
        return state.TryGet(_generation, state.MainTree, key, out value);
    }

    /// <inheritdoc cref="ReadTransaction.TryGet(ReadOnlySpan{byte}, Span{byte}, out int)"/>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, Span<byte> destination, out int written)
    {
        var state = State;
        return state.TryGet(_generation, state.MainTree, key, destination, out written);
    }

    /// <inheritdoc cref="ReadTransaction.TryGet(ReadOnlySpan{byte}, IBufferWriter{byte})"/>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> writer)
    {
        var state = State;
        return state.TryGet(_generation, state.MainTree, key, writer);
    }

    /// <inheritdoc cref="ReadTransaction.Get(ReadOnlySpan{byte})"/>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        var state = State;
        return state.Get(_generation, state.MainTree, key);
    }

    /// <inheritdoc cref="ReadTransaction.Scan()"/>
    public KvScan Scan()
    {
        var state = State;
        return state.Scan(_generation, state.MainTree, default, default);
    }

    /// <inheritdoc cref="ReadTransaction.Scan(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    public KvScan Scan(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        var state = State;
        return state.Scan(_generation, state.MainTree, from, to);
    }

    /// <inheritdoc cref="ReadTransaction.ScanPrefix(ReadOnlySpan{byte})"/>
    public KvScan ScanPrefix(ReadOnlySpan<byte> prefix)
    {
        var state = State;
        return state.ScanPrefix(_generation, state.MainTree, prefix);
    }

    /// <inheritdoc cref="ReadTransaction.OpenCursor()"/>
    public KvCursor OpenCursor()
    {
        var state = State;
        return state.OpenCursor(_generation, state.MainTree);
    }

    /// <summary>Opens the named tree, creating it (empty) if it does not exist. A new tree is kept even if left empty.</summary>
    /// <exception cref="InvalidOperationException">The tree is a multimap tree (open it with <c>OpenMultiTree</c>).</exception>
    public KvTree OpenTree(string name) => State.OpenTree(_generation, name);

    /// <summary>Opens the named tree, creating it (empty) with key order <paramref name="order"/> if it does not exist.</summary>
    /// <exception cref="InvalidOperationException">The tree exists with another key order (the message names both),
    /// or is a multimap tree.</exception>
    /// <exception cref="ArgumentException"><paramref name="order"/> is <see cref="KeyOrder.Custom"/>: pass the comparer instead.</exception>
    public KvTree OpenTree(string name, KeyOrder order) => State.OpenTree(_generation, name, order);

    /// <summary>Opens the named tree, creating it (empty) ordered by <paramref name="comparer"/> if it does not exist.</summary>
    /// <exception cref="InvalidOperationException">The tree exists with another order, or with a comparer of another
    /// name, or is a multimap tree.</exception>
    public KvTree OpenTree(string name, IKeyComparer comparer) =>
        State.OpenTree(_generation, name, null, comparer ?? throw new ArgumentNullException(nameof(comparer)));

    /// <inheritdoc cref="ReadTransaction.TryOpenTree(string, out KvTree)"/>
    public bool TryOpenTree(string name, [NotNullWhen(true)] out KvTree? tree) => State.TryOpenTree(_generation, name, out tree);

    /// <inheritdoc cref="ReadTransaction.TryOpenTree(string, IKeyComparer, out KvTree)"/>
    public bool TryOpenTree(string name, IKeyComparer comparer, [NotNullWhen(true)] out KvTree? tree) =>
        State.TryOpenTree(_generation, name, out tree, null, comparer ?? throw new ArgumentNullException(nameof(comparer)));

    /// <inheritdoc cref="ReadTransaction.GetTreeNames()"/>
    public IReadOnlyList<string> GetTreeNames() => State.GetTreeNames(_generation);

    /// <summary>Deletes a named tree and all its contents. Returns whether it existed. Open handles to it become invalid.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool DeleteTree(string name) => State.DeleteTree(_generation, name);

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
    public Savepoint CreateSavepoint() => State.CreateSavepoint(_generation);

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
    public void RollbackTo(Savepoint savepoint) => State.RollbackTo(_generation, savepoint);

    /// <summary>Commits with the database's default durability (<see cref="KvOptions.Durability"/>).</summary>
    /// <exception cref="StorageFailedException">Flushing failed; the commit's durability is unknown and the database
    /// refuses writes until reopened.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public void Commit() => State.Commit(_generation, null);

    /// <summary>
    /// Commits: the changes become visible to new transactions at once, and durable as <paramref name="durability"/>
    /// says. The transaction ends either way.
    /// </summary>
    /// <exception cref="StorageFailedException">Flushing failed; the commit's durability is unknown and the database
    /// refuses writes until reopened.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public void Commit(Durability durability) => State.Commit(_generation, durability);

    /// <summary>Commits, awaiting durability without blocking a thread.</summary>
    /// <remarks>
    /// The flush runs on a dedicated thread, so no thread-pool thread blocks on msync. Cancelling stops only the
    /// wait for durability: the commit itself has happened and becomes durable with the next flush.
    /// </remarks>
    public Task CommitAsync(Durability? durability = null, CancellationToken cancellationToken = default) =>
        State.CommitAsync(_generation, durability, cancellationToken);

    /// <summary>Ends the transaction; one that was not committed is aborted. Calling it again, or on a copy, does nothing.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the transaction right now.</exception>
    public void Dispose() => _state?.Dispose(_generation);

    private WriteState State
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _state ?? ThrowNotBegun();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static WriteState ThrowNotBegun() =>
        throw new InvalidOperationException("This WriteTransaction is a default value; start one with KvDatabase.BeginWrite().");

    // The database's own writes (compaction, savepoints, the cache) reach the state through these.
    internal KvDatabase Db => State.Db;

    /// <summary>Makes a persistent savepoint (docs/format.md §13). Used by <see cref="KvDatabase.CreatePersistentSavepoint"/>.</summary>
    internal long CreatePersistentSavepoint() => State.CreatePersistentSavepoint(_generation);

    /// <summary>Deletes a persistent savepoint at this commit. Used by <see cref="KvDatabase.DeletePersistentSavepoint"/>.</summary>
    internal bool DeletePersistentSavepoint(long id) => State.DeletePersistentSavepoint(_generation, id);

    /// <summary>Makes a persistent savepoint's state this transaction's. Used by <see cref="KvDatabase.RestoreSavepoint"/>.</summary>
    internal void RestoreSavepoint(long id) => State.RestoreSavepoint(_generation, id);

    /// <summary>The named tree of the kind asked for, created if missing (multimap trees, src/MmapKv/Multimap).</summary>
    internal TreeState OpenOrCreate(string name, bool multimap, KeyOrder? order = null) =>
        State.OpenOrCreate(_generation, name, multimap, order);

    /// <summary>The named tree as this transaction sees it, of either kind, or null (tests inspect descriptors).</summary>
    internal TreeState? FindTree(string name) => State.FindTree(_generation, name, multimap: null);

    /// <summary>A tree handle of this transaction over <paramref name="tree"/>, of either kind (a compacting copy
    /// writes a multimap's composite keys as they are).</summary>
    internal KvTree TreeHandle(TreeState tree) => new(State, tree, _generation);

    /// <summary>The state and this handle's use of it, for handles made outside this file (multimap trees); every
    /// operation on them passes <see cref="KvTransaction.Use(long)"/> with the generation (L5).</summary>
    internal (KvTransaction State, long Generation) Handle => (State, _generation);

    /// <summary>The state object behind the handle (null for a default handle); tests check its reuse with it.</summary>
    internal WriteState? RawState => _state;
}
