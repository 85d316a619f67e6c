using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv;

/// <summary>
/// A read-only snapshot of the database. It sees exactly the state of one commit for its whole life, whatever
/// commits happen meanwhile, and never blocks the writer. Keep it short-lived: pages it can see are not reused
/// until it ends, so a forgotten reader makes the file grow.
/// </summary>
/// <remarks>
/// <para>This is a handle: beginning and ending a read transaction allocates nothing, because the state behind it is
/// reused by the next read transaction. Copies of a handle are the same transaction. Once it is disposed, every
/// copy, and every cursor and tree opened through it, throws <see cref="ObjectDisposedException"/>, even after the
/// state has been reused by another transaction; a second <see cref="Dispose"/> does nothing.</para>
/// <para>Spans returned by <see cref="TryGet(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/> and by cursors point into the memory map and stay valid until the
/// transaction ends. A transaction is not bound to a thread, but must not be used by two threads at once.
/// A <c>default</c> handle was never begun: using it throws <see cref="InvalidOperationException"/>.</para>
/// </remarks>
public readonly struct ReadTransaction : IDisposable
{
    private readonly ReadState? _state;
    private readonly long _generation;

    internal ReadTransaction(ReadState state, long generation, long txnId)
    {
        _state = state;
        _generation = generation;
        TxnId = txnId;
    }

    /// <summary>The id of the commit this transaction sees (kept in the handle, so it stays right after the end).</summary>
    public long TxnId { get; }

    /// <summary>Always true.</summary>
    [SuppressMessage("Performance", "CA1822", Justification = "An instance member, like WriteTransaction.IsReadOnly, for code written against either.")]
    public bool IsReadOnly => true;

    /// <summary>Looks up <paramref name="key"/> in the default tree. Allocates nothing; the value is not copied.</summary>
    /// <returns>Whether the key exists.</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="CorruptDatabaseException">A page on the path is damaged.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var state = State;
        return state.TryGet(_generation, state.MainTree, key, out value);
    }

    /// <summary>
    /// Looks up <paramref name="key"/> in the default tree and copies its value into <paramref name="destination"/>.
    /// Allocates nothing.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="destination">Where the value is copied; it must have room for the whole value.</param>
    /// <param name="written">The value's length (the bytes written), or 0 when the key is absent.</param>
    /// <returns>Whether the key exists; false only when it does not.</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>; or
    /// <paramref name="destination"/> is shorter than the value (the message gives the value's length; nothing is written).</exception>
    /// <exception cref="CorruptDatabaseException">A page on the path is damaged.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, Span<byte> destination, out int written)
    {
        var state = State;
        return state.TryGet(_generation, state.MainTree, key, destination, out written);
    }

    /// <summary>Looks up <paramref name="key"/> in the default tree and appends its value to <paramref name="writer"/>
    /// (one <c>GetSpan</c> of the value's length, then <c>Advance</c>). Nothing is written when the key is absent.</summary>
    /// <returns>Whether the key exists.</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    /// <exception cref="CorruptDatabaseException">A page on the path is damaged.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> writer)
    {
        var state = State;
        return state.TryGet(_generation, state.MainTree, key, writer);
    }

    /// <summary>Looks up <paramref name="key"/> in the default tree and returns a copy of its value (a new array),
    /// or null when the key is absent. Prefer <see cref="TryGet(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/> on hot paths.</summary>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="CorruptDatabaseException">A page on the path is damaged.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        var state = State;
        return state.Get(_generation, state.MainTree, key);
    }

    /// <summary>Every entry of the default tree, in key order; <see cref="KvScan.Reverse"/> for descending. Allocates
    /// nothing (see <see cref="KvScan"/>).</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvScan Scan()
    {
        var state = State;
        return state.Scan(_generation, state.MainTree, default, default);
    }

    /// <summary>
    /// The entries of the default tree with <paramref name="from"/> &lt;= key &lt; <paramref name="to"/>, in key
    /// order; <see cref="KvScan.Reverse"/> for descending. An empty bound is open: <c>Scan(from, default)</c> runs
    /// to the last key, <c>Scan(default, to)</c> from the first. Allocates nothing (see <see cref="KvScan"/>).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvScan Scan(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        var state = State;
        return state.Scan(_generation, state.MainTree, from, to);
    }

    /// <summary>The entries of the default tree whose keys start with <paramref name="prefix"/>, in key order; the
    /// empty prefix gives every entry. <see cref="KvScan.Reverse"/> for descending. Allocates nothing.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvScan ScanPrefix(ReadOnlySpan<byte> prefix)
    {
        var state = State;
        return state.ScanPrefix(_generation, state.MainTree, prefix);
    }

    /// <summary>Opens a cursor on the default tree. Dispose it, or let the transaction end, when done.</summary>
    public KvCursor OpenCursor()
    {
        var state = State;
        return state.OpenCursor(_generation, state.MainTree);
    }

    /// <summary>Opens an existing named tree.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    public KvTree OpenTree(string name) => State.OpenTree(_generation, name);

    /// <summary>
    /// Opens the named tree, which must have key order <paramref name="order"/>. In a read transaction a missing tree
    /// throws <see cref="KeyNotFoundException"/>; in a write transaction it is created with that order.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tree exists with another key order (the message names both).</exception>
    /// <exception cref="ArgumentException"><paramref name="order"/> is <see cref="KeyOrder.Custom"/>: pass the comparer instead.</exception>
    public KvTree OpenTree(string name, KeyOrder order) => State.OpenTree(_generation, name, order);

    /// <summary>
    /// Opens the named tree ordered by <paramref name="comparer"/> (<see cref="KeyOrder.Custom"/>). In a read
    /// transaction a missing tree throws <see cref="KeyNotFoundException"/>; in a write transaction it is created.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tree exists with another order, or with a comparer of another name.</exception>
    public KvTree OpenTree(string name, IKeyComparer comparer) =>
        State.OpenTree(_generation, name, null, comparer ?? throw new ArgumentNullException(nameof(comparer)));

    /// <summary>Opens the named tree if it exists, whatever its key order (a custom one as
    /// <see cref="OpenTree(string)"/> says).</summary>
    public bool TryOpenTree(string name, [NotNullWhen(true)] out KvTree? tree) => State.TryOpenTree(_generation, name, out tree);

    /// <summary>Opens the named tree, ordered by <paramref name="comparer"/>, if it exists.</summary>
    /// <exception cref="InvalidOperationException">The tree exists with another order, or with a comparer of another name.</exception>
    public bool TryOpenTree(string name, IKeyComparer comparer, [NotNullWhen(true)] out KvTree? tree) =>
        State.TryOpenTree(_generation, name, out tree, null, comparer ?? throw new ArgumentNullException(nameof(comparer)));

    /// <summary>
    /// Looks up <paramref name="key"/> in the named tree <paramref name="treeName"/>; false if the tree or the key
    /// is missing. Unlike <c>TryOpenTree(name).TryGet(key)</c> it makes no <see cref="KvTree"/> handle, and a read
    /// state that already resolved the tree on this snapshot does not search the catalog: nothing is allocated.
    /// The cache's Get (src/MmapKv.Caching) reads through it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    /// <exception cref="ArgumentException">The key is empty or too long, or the name cannot be a tree name.</exception>
    internal bool TryGetInTree(string treeName, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value) =>
        State.TryGetInTree(_generation, treeName, key, out value);

    /// <summary>Names of the named trees, in byte order of their UTF-8 names.</summary>
    public IReadOnlyList<string> GetTreeNames() => State.GetTreeNames(_generation);

    /// <summary>Ends the transaction. Calling it again, or on a copy, does nothing.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the transaction right now.</exception>
    public void Dispose() => _state?.End(_generation);

    private ReadState State
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _state ?? ThrowNotBegun();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static ReadState ThrowNotBegun() =>
        throw new InvalidOperationException("This ReadTransaction is a default value; start one with KvDatabase.BeginRead().");

    // The database's own reads (Check, GetStats, CopyTo, compaction) reach the state directly; they end the
    // transaction with a using block in the same method, so no generation check is needed.
    internal KvDatabase Db => State.Db;
    internal PageContext Context => State.Context;
    internal MetaRecord SnapshotMeta => State.SnapshotMeta;
    internal TreeState MainTree => State.MainTree;
    internal TreeCatalog CommittedCatalog => State.CommittedCatalog;
    internal KvCursor OpenCursor(TreeState tree) => State.OpenCursor(_generation, tree);

    /// <summary>The state and this handle's use of it, for handles made outside this file (multimap trees); every
    /// operation on them passes <see cref="KvTransaction.Use(long)"/> with the generation (L5).</summary>
    internal (KvTransaction State, long Generation) Handle => (State, _generation);

    /// <summary>The state object behind the handle (null for a default handle); tests check its reuse with it.</summary>
    internal ReadState? RawState => _state;
}
