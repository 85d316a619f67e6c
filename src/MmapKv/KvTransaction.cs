using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv;

/// <summary>
/// What read and write transactions share: lookups, cursors and named trees over one consistent view.
/// A transaction is not bound to a thread, but must not be used by two threads at once.
/// </summary>
/// <remarks>
/// Spans returned by <see cref="TryGet(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/> and by cursors point into the memory map. They stay valid until the
/// transaction ends; in a write transaction, also only until its next write.
/// </remarks>
public abstract class KvTransaction : IDisposable
{
    internal readonly KvDatabase Db;
    internal readonly TreeState MainTree;
    internal readonly TreeState CatalogTree;
    private protected bool _ended;
    private protected string? _endReason;
    private int _busy; // 1 while a public operation runs: detects use from two threads at once (see Enter)

    private protected KvTransaction(KvDatabase db, long txnId, in MetaRecord meta)
    {
        Db = db;
        TxnId = txnId;
        MainTree = new TreeState(null, meta.Main);
        CatalogTree = new TreeState(null, meta.Catalog);
    }

    /// <summary>For a read transaction, the id of the commit it sees; for a write transaction, the id it will commit as.</summary>
    public long TxnId { get; }

    /// <summary>Whether this transaction may write.</summary>
    public abstract bool IsReadOnly { get; }

    internal abstract PageContext Context { get; }

    /// <summary>Changes on every write, so cursors know to find their place again.</summary>
    internal virtual long Version => 0;

    /// <summary>Looks up <paramref name="key"/> in the default tree. Allocates nothing; the value is not copied.</summary>
    /// <returns>Whether the key exists.</returns>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="CorruptDatabaseException">A page on the path is damaged.</exception>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value) => TryGet(MainTree, key, out value);

    /// <summary>Opens a cursor on the default tree. Dispose it, or let the transaction end, when done.</summary>
    public KvCursor OpenCursor() => OpenCursor(MainTree);

    /// <summary>Opens the named tree. In a read transaction a missing tree throws <see cref="KeyNotFoundException"/>;
    /// in a write transaction it is created.</summary>
    public abstract KvTree OpenTree(string name);

    /// <summary>Opens the named tree if it exists (in a write transaction, also if it was created in it).</summary>
    public bool TryOpenTree(string name, [NotNullWhen(true)] out KvTree? tree)
    {
        using var use = Use();
        ThrowIfEnded();
        var state = FindTree(name);
        tree = state is null ? null : new KvTree(this, state);
        return tree is not null;
    }

    /// <summary>Names of the named trees, in byte order of their UTF-8 names.</summary>
    public IReadOnlyList<string> GetTreeNames()
    {
        using var use = Use();
        ThrowIfEnded();
        return TreeNames();
    }

    /// <summary>The names as this transaction sees them (a write transaction adds its own creations and deletions).</summary>
    private protected virtual IReadOnlyList<string> TreeNames() => CommittedTreeNames();

    /// <summary>
    /// The catalog as committed in this transaction's base state. A write transaction writes its catalog changes
    /// only at commit, so this is its base catalog too. Made fresh per use: the page count of a write transaction grows.
    /// </summary>
    internal TreeCatalog CommittedCatalog => new(Context, CatalogTree.Desc, Db.MaxKeySize);

    /// <summary>Names in this transaction's catalog tree, in byte order.</summary>
    private List<string> CommittedTreeNames()
    {
        var names = new List<string>();
        foreach (var entry in CommittedCatalog) names.Add(entry.Name);
        return names;
    }

    internal virtual TreeState? FindTree(string name) => ReadCatalog(name);

    /// <summary>Whether the transaction has ended.</summary>
    internal bool IsEnded => _ended;

    /// <summary>The committed descriptor of a named tree, or null.</summary>
    private TreeState? ReadCatalog(string name) =>
        CommittedCatalog.TryFind(name, out var desc) ? new TreeState(name, desc) : null;

    internal bool TryGet(TreeState tree, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        CheckKey(key);
        using var use = Use();
        ThrowIfEnded(tree);
        return TreeReader.TryGet(Context, tree.Desc, key, out value);
    }

    internal KvCursor OpenCursor(TreeState tree)
    {
        using var use = Use();
        ThrowIfEnded(tree);
        return new KvCursor(this, tree);
    }

    /// <summary>
    /// Marks the transaction busy for one public operation; disposing the scope clears the mark. A second thread
    /// that enters meanwhile gets <see cref="InvalidOperationException"/> before it touches any state, so racing
    /// callers never see each other's half-made changes, and in particular never a
    /// <see cref="CorruptDatabaseException"/>, which must mean that the file is damaged (invariant L3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal UseScope Use()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0) ThrowConcurrentUse();
        return new UseScope(this);
    }

    internal readonly ref struct UseScope
    {
        private readonly KvTransaction _tx;
        public UseScope(KvTransaction tx) => _tx = tx;
        public void Dispose() => Volatile.Write(ref _tx._busy, 0);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowConcurrentUse() => throw new InvalidOperationException(
        "The transaction is in use by another thread. A transaction and its cursors and trees must not be used by two threads at once; " +
        "give each thread its own read transaction, and hand the write transaction from one thread to the next (for example across await).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckKey(ReadOnlySpan<byte> key)
    {
        if ((uint)(key.Length - 1) >= (uint)Db.MaxKeySize) ThrowBadKey(key.Length);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadKey(int length) => throw new ArgumentException(length == 0
        ? "A key must not be empty."
        : $"The key is {length} bytes; the most this database allows is {Db.MaxKeySize}.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ThrowIfEnded()
    {
        if (_ended || Db.IsClosed) ThrowEnded();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ThrowIfEnded(TreeState tree)
    {
        if (_ended || tree.Deleted || Db.IsClosed) ThrowEnded(tree);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowEnded(TreeState? tree = null)
    {
        if (tree is { Deleted: true }) throw new InvalidOperationException($"The tree '{tree.Name}' was deleted in this transaction.");
        if (_endReason is not null) throw new InvalidOperationException(_endReason);
        if (!_ended) throw new ObjectDisposedException(GetType().Name, "The database was disposed while this transaction was open; dispose the transaction.");
        throw new ObjectDisposedException(GetType().Name, "The transaction has ended (committed, aborted or disposed).");
    }

    /// <summary>Ends the transaction. A write transaction that was not committed is aborted.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the transaction right now.</exception>
    public void Dispose()
    {
        using var use = Use();
        if (_ended) return;
        _ended = true;
        End();
        GC.SuppressFinalize(this);
    }

    private protected abstract void End();
}
