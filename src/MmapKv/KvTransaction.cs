using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Catalog;
using MmapKv.Diagnostics;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv;

/// <summary>
/// The state behind a transaction handle (<see cref="ReadState"/> behind <see cref="ReadTransaction"/>,
/// <see cref="WriteState"/> behind <see cref="WriteTransaction"/>): lookups, cursors and named trees over one
/// consistent view. Both states are reused, one generation per transaction; every entry point takes the caller's
/// generation (<see cref="Use(long)"/>, invariant L5). A transaction is not bound to a thread, but must not be used by
/// two threads at once.
/// </summary>
/// <remarks>
/// Spans returned by lookups and by cursors point into the memory map. They stay valid until the
/// transaction ends; in a write transaction, also only until its next write.
/// </remarks>
internal abstract class KvTransaction
{
    internal readonly KvDatabase Db;
    internal readonly TreeState MainTree;
    internal readonly TreeState CatalogTree;
    /// <summary>With <see cref="KvOptions.DebugSpans"/>, where handed-out spans are copied (docs/durability.md §12.5); else null.</summary>
    internal readonly SpanGuard? Guard;
    private protected bool _ended;
    private protected string? _endReason;
    // Generation * 2, plus 1 while a public operation runs (see Use). The generation tells the handles, cursors and
    // trees of one use of a reused object (ReadState, WriteState) from those of the next: one compare-exchange checks both that
    // the caller's generation is current (else ObjectDisposedException, L5) and that no other thread is inside (L3).
    private long _use;
    // Set inside a use by the operation that ends its generation (EndAtExit): the use's end then retires it.
    private bool _endAtExit;

    private protected KvTransaction(KvDatabase db, long txnId, in MetaRecord meta, long generation)
    {
        Db = db;
        TxnId = txnId;
        MainTree = new TreeState(null, meta.Main);
        CatalogTree = new TreeState(null, meta.Catalog);
        _use = generation << 1;
        if (db.Options.DebugSpans) Guard = new SpanGuard();
    }

    /// <summary>A transaction over tree states it is given (a write transaction's, which the database reuses).</summary>
    private protected KvTransaction(KvDatabase db, long txnId, TreeState mainTree, TreeState catalogTree, long generation)
    {
        Db = db;
        TxnId = txnId;
        MainTree = mainTree;
        CatalogTree = catalogTree;
        _use = generation << 1;
        if (db.Options.DebugSpans) Guard = new SpanGuard();
    }

    /// <summary>For a read transaction, the id of the commit it sees; for a write transaction, the id it will commit as.</summary>
    public long TxnId { get; private protected set; }

    /// <summary>Whether this transaction may write.</summary>
    public abstract bool IsReadOnly { get; }

    internal abstract PageContext Context { get; }

    /// <summary>Changes on every write, so cursors know to find their place again.</summary>
    internal virtual long Version => 0;

    internal bool TryOpenTree(long generation, string name, [NotNullWhen(true)] out KvTree? tree,
        KeyOrder? order = null, IKeyComparer? comparer = null)
    {
        using var use = Use(generation);
        ThrowIfEnded();
        var state = FindTree(name);
        if (state is not null)
        {
            CheckKind(state, multimap: false);
            MatchOrder(state, order, comparer);
        }
        tree = state is null ? null : new KvTree(this, state, generation);
        return tree is not null;
    }

    /// <summary>Opens an existing named tree of the kind asked for (null: either kind), or returns null if there is
    /// none; a tree of the other kind is <see cref="InvalidOperationException"/>. The read side of <c>OpenMultiTree</c>.</summary>
    internal TreeState? FindTree(long generation, string name, bool? multimap)
    {
        using var use = Use(generation);
        ThrowIfEnded();
        var state = FindTree(name);
        return state is null || multimap is not { } kind ? state : CheckKind(state, kind);
    }

    /// <summary>Returns <paramref name="state"/> if its descriptor's kind (docs/format.md §5.1) is the one asked
    /// for; a plain tree opened as a multimap, or a multimap as a plain tree, is the caller's mistake.</summary>
    internal static TreeState CheckKind(TreeState state, bool multimap)
    {
        if (state.Desc.IsMultimap != multimap) ThrowWrongKind(state.Name!, state.Desc.IsMultimap);
        return state;
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowWrongKind(string name, bool isMultimap) => throw new InvalidOperationException(isMultimap
        ? $"The tree '{name}' is a multimap tree; open it with OpenMultiTree, not OpenTree."
        : $"The tree '{name}' is a plain tree, not a multimap tree; open it with OpenTree, not OpenMultiTree.");

    /// <summary>The flags and comparison of a new tree of <paramref name="order"/> or <paramref name="comparer"/>.</summary>
    internal static TreeDescriptor NewTree(KeyOrder? order, IKeyComparer? comparer)
    {
        if (comparer is not null)
        {
            uint flags = TreeDescriptor.OrderCustom | (uint)KeyComparer.NameHash(comparer.Name) << TreeDescriptor.NameHashShift;
            return TreeDescriptor.Empty(flags, new KeyComparer.Custom(comparer));
        }
        var cmp = KeyComparer.ForOrder(order ?? KeyOrder.Bytewise);
        return TreeDescriptor.Empty(cmp is null ? 0 : (uint)cmp.Order, cmp);
    }

    /// <summary>
    /// Checks an existing tree against the order its opener asked for, and binds a custom tree to its comparer.
    /// No order asked for (<c>OpenTree(name)</c>) takes the stored built-in order.
    /// </summary>
    internal static void MatchOrder(TreeState state, KeyOrder? order, IKeyComparer? comparer)
    {
        var stored = state.Desc.Order;
        string storedName = stored?.Describe() ?? nameof(KeyOrder.Bytewise);
        if (comparer is not null)
        {
            string asked = $"Custom ('{comparer.Name}')";
            if (stored is KeyComparer.Custom bound)
            {
                if (ReferenceEquals(bound.Comparer, comparer) || string.Equals(bound.Comparer.Name, comparer.Name, StringComparison.Ordinal)) return;
                throw OrderMismatch(state, storedName, asked);
            }
            if (stored is not KeyComparer.UnboundCustom unbound || unbound.StoredHash != KeyComparer.NameHash(comparer.Name))
                throw OrderMismatch(state, storedName, asked);
            state.Desc.Order = new KeyComparer.Custom(comparer);
            return;
        }
        if (order is { } o)
        {
            if (o == KeyOrder.Custom) KeyComparer.ForOrder(o); // throws: a custom order is given by its comparer
            if (o != state.Desc.KeyOrder) throw OrderMismatch(state, storedName, o.ToString());
            return;
        }
        // A custom tree opened without its comparer stays unbound: its name, count and order can be read, and
        // every operation that needs the order throws (UnboundCustom).
    }

    /// <summary>Walks and cursors need the order (each leaf change checks it): refused on an unbound custom tree.</summary>
    private static void ThrowIfUnbound(TreeState tree)
    {
        if (tree.Desc.Order is KeyComparer.UnboundCustom unbound) unbound.CheckKey(default);
    }

    private static InvalidOperationException OrderMismatch(TreeState state, string stored, string asked) =>
        new($"Tree '{state.Name}' is ordered {stored}; it was opened as {asked}. A tree keeps the key order it was created with.");

    internal IReadOnlyList<string> GetTreeNames(long generation)
    {
        using var use = Use(generation);
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

    /// <summary>Whether the use <paramref name="generation"/> of this object has ended (a cursor or tree of it is stale).</summary>
    internal bool IsEnded(long generation) => _ended || Volatile.Read(ref _use) >> 1 != generation;

    /// <summary>The committed descriptor of a named tree, or null.</summary>
    private TreeState? ReadCatalog(string name) =>
        CommittedCatalog.TryFind(name, out var desc) ? new TreeState(name, desc) : null;

    internal bool TryGet(long generation, TreeState tree, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        CheckKey(tree, key);
        using var use = Use(generation);
        ThrowIfEnded(tree);
        bool found = TreeReader.TryGet(Context, tree.Desc, key, out value);
        if (Guard is not null) value = Guard.Copy(value);
        return found;
    }

    internal bool TryGet(long generation, TreeState tree, ReadOnlySpan<byte> key, Span<byte> destination, out int written)
    {
        if (!TryGet(generation, tree, key, out var value))
        {
            written = 0;
            return false;
        }
        if (value.Length > destination.Length) ThrowDestinationTooShort(value.Length, destination.Length, nameof(destination));
        value.CopyTo(destination);
        written = value.Length;
        return true;
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDestinationTooShort(int needed, int length, string paramName) => throw new ArgumentException(
        $"The value is {needed} bytes; the destination has room for {length}. Pass a destination of at least {needed} bytes.",
        paramName);

    internal bool TryGet(long generation, TreeState tree, ReadOnlySpan<byte> key, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!TryGet(generation, tree, key, out var value)) return false;
        // The writer is the caller's code, so it runs outside the use mark: it may use this transaction itself.
        if (!value.IsEmpty)
        {
            value.CopyTo(writer.GetSpan(value.Length));
            writer.Advance(value.Length);
        }
        return true;
    }

    internal byte[]? Get(long generation, TreeState tree, ReadOnlySpan<byte> key) =>
        TryGet(generation, tree, key, out var value) ? value.ToArray() : null;

    internal KvScan Scan(long generation, TreeState tree, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        using (Use(generation)) ThrowIfEnded(tree);
        ThrowIfUnbound(tree);
        if (tree.Desc.Order is { } order)
        {
            if (!from.IsEmpty) order.CheckKey(from);
            if (!to.IsEmpty) order.CheckKey(to);
        }
        return new KvScan(this, tree, generation, from, to, default, reverse: false);
    }

    internal KvScan ScanPrefix(long generation, TreeState tree, ReadOnlySpan<byte> prefix)
    {
        using (Use(generation)) ThrowIfEnded(tree);
        ThrowIfUnbound(tree);
        // Keys that share a prefix are adjacent only in bytewise order (and its reverse, which the walk does not
        // handle): under any other order a prefix scan is refused rather than answered from a wrong range.
        if (!prefix.IsEmpty && tree.Desc.Order is { } order)
            throw new InvalidOperationException($"A prefix scan needs a tree ordered bytewise; this tree is ordered {order.Describe()}. Use Scan(from, to).");
        return new KvScan(this, tree, generation, default, default, prefix, reverse: false);
    }

    internal KvCursor OpenCursor(long generation, TreeState tree)
    {
        using var use = Use(generation);
        ThrowIfEnded(tree);
        ThrowIfUnbound(tree);
        return new KvCursor(this, tree, generation);
    }

    /// <summary>
    /// Marks the transaction busy for one public operation of the caller's <paramref name="generation"/>; disposing
    /// the scope clears the mark. A second thread that enters meanwhile gets <see cref="InvalidOperationException"/>
    /// before it touches any state, so racing callers never see each other's half-made changes, and in particular
    /// never a <see cref="CorruptDatabaseException"/>, which must mean that the file is damaged (invariant L3). A
    /// caller whose generation has ended (a disposed read transaction's handle, cursor or tree, even after the object
    /// was reused) gets <see cref="ObjectDisposedException"/> and changes nothing, so it cannot disturb the
    /// object's current user (invariant L5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal UseScope Use(long generation)
    {
        long idle = generation << 1;
        long seen = Interlocked.CompareExchange(ref _use, idle | 1, idle);
        if (seen != idle) ThrowUse(seen, generation);
        return new UseScope(this, idle);
    }

    internal readonly ref struct UseScope
    {
        private readonly KvTransaction _tx;
        private readonly long _idle;
        public UseScope(KvTransaction tx, long idle)
        {
            _tx = tx;
            _idle = idle;
        }
        public void Dispose()
        {
            if (!_tx._endAtExit)
            {
                Volatile.Write(ref _tx._use, _idle);
                return;
            }
            _tx._endAtExit = false;
            Volatile.Write(ref _tx._use, _idle + 2); // idle in the next generation: this one's handles are stale
            _tx.Ended();
        }
    }

    /// <summary>
    /// Called inside a use by the operation that ends this object's current generation: when the use ends, the
    /// generation retires (as <see cref="Retire"/> does, with no window in which another thread could enter the
    /// ended one), and then <see cref="Ended"/> runs.
    /// </summary>
    private protected void EndAtExit() => _endAtExit = true;

    /// <summary>Runs once a generation ended with <see cref="EndAtExit"/> has retired, on the thread that ended it.</summary>
    private protected virtual void Ended() { }

    /// <summary>Whether <paramref name="generation"/> is no longer this object's current one (it was retired).</summary>
    private protected bool IsStale(long generation) => Volatile.Read(ref _use) >> 1 != generation;

    /// <summary>
    /// Ends <paramref name="generation"/> of a reused object: from here on every handle, cursor and tree of it is
    /// stale. Returns false if it had already ended (a second Dispose, which must be harmless).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread is inside an operation of this generation.</exception>
    private protected bool Retire(long generation)
    {
        long idle = generation << 1;
        long seen = Interlocked.CompareExchange(ref _use, (generation + 1) << 1, idle);
        if (seen == idle) return true;
        if (seen >> 1 != generation) return false;
        ThrowConcurrentUse();
        return false;
    }

    /// <summary>While the object is idle, the generation its next user gets; inside a use, that use's generation.
    /// Only its owner calls this.</summary>
    private protected long CurrentGeneration => Volatile.Read(ref _use) >> 1;

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowUse(long seen, long generation)
    {
        if (seen >> 1 != generation)
        {
            if (StaleReason(generation) is { } reason) throw new InvalidOperationException(reason);
            ThrowStale();
        }
        ThrowConcurrentUse();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowStale() => throw new ObjectDisposedException(ObjectName, "The transaction has ended (committed, aborted or disposed).");

    private string ObjectName => IsReadOnly ? nameof(ReadTransaction) : nameof(WriteTransaction);

    /// <summary>Why a retired <paramref name="generation"/> ended, when its handles should hear more than "ended"
    /// (a write transaction aborted by a failed write); null otherwise.</summary>
    private protected virtual string? StaleReason(long generation) => null;

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowConcurrentUse() => throw new InvalidOperationException(
        "The transaction is in use by another thread. A transaction and its cursors and trees must not be used by two threads at once; " +
        "give each thread its own read transaction, and hand the write transaction from one thread to the next (for example across await).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckKey(ReadOnlySpan<byte> key)
    {
        if ((uint)(key.Length - 1) >= (uint)Db.MaxKeySize) ThrowBadKey(key.Length);
    }

    /// <summary><see cref="CheckKey(ReadOnlySpan{byte})"/>, and the tree's key order's own rule (8-byte integers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckKey(TreeState tree, ReadOnlySpan<byte> key)
    {
        if ((uint)(key.Length - 1) >= (uint)Db.MaxKeySize) ThrowBadKey(key.Length);
        tree.Desc.Order?.CheckKey(key);
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
        if (tree is { Deleted: true }) throw new InvalidOperationException($"The tree '{tree.Name}' was deleted in this transaction, or its creation was rolled back to a savepoint.");
        if (_endReason is not null) throw new InvalidOperationException(_endReason);
        if (!_ended) throw new ObjectDisposedException(ObjectName, "The database was disposed while this transaction was open; dispose the transaction.");
        throw new ObjectDisposedException(ObjectName, "The transaction has ended (committed, aborted or disposed).");
    }

}
