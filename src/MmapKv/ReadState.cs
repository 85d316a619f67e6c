using System.Diagnostics;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Transactions;

namespace MmapKv;

/// <summary>
/// The state behind <see cref="ReadTransaction"/> handles: one object per reader slot, reused by every read
/// transaction that holds that slot, so beginning and ending a read allocates nothing. Each use is one
/// generation; the handle, and every cursor and tree opened through it, carries its generation, and
/// <see cref="KvTransaction.Use(long)"/> refuses an old one (invariant L5), so a disposed handle never reads the
/// snapshot of the object's next user.
/// </summary>
/// <remarks>
/// While a transaction holds it, only that transaction's handles, cursors and trees reference it (the database
/// keeps it in <c>KvDatabase._readStates</c> only while it is idle). A handle that is dropped without
/// <see cref="ReadTransaction.Dispose"/> therefore makes it unreachable, and its finalizer starts the leak grace
/// period of its slot (L2); the object is then lost, and the slot gets a new one once it is reclaimed.
/// </remarks>
internal sealed class ReadState : KvTransaction
{
    /// <summary>A verifier that checked more pages than this is replaced rather than cleared (its set would stay large).</summary>
    private const int MaxReusedVerifierPages = 4096;

    /// <summary>How many named trees one state remembers per snapshot (the cache opens one per read).</summary>
    private const int MaxResolvedTrees = 8;

    private readonly int _slot;
    private PageContext _context;
    private PageVerifier? _verifier;

    // The named trees this state has looked up in the catalog of _resolvedFor, found or not. A snapshot never
    // changes (its pages are not written while a reader can see it, R1), so the next use of this state on the same
    // snapshot takes the descriptor from here instead of searching the catalog and encoding the name again. Keyed
    // by the Snapshot object, which is published once per commit: any commit, a catalog change included, is a new
    // key. Only the use that holds the state touches these fields, like the rest of the state.
    private Snapshot? _resolvedFor;
    private ResolvedTree[]? _resolved;
    private int _resolvedCount;
    private int _nextReplaced;

    private readonly struct ResolvedTree(string name, bool exists, TreeDescriptor desc)
    {
        public readonly string Name = name;
        public readonly bool Exists = exists;
        public readonly TreeDescriptor Desc = desc; // a field: TreeReader takes it by reference
    }

    /// <summary>Creates the state of <paramref name="slot"/>; it is idle until <see cref="Begin"/>.</summary>
    public ReadState(KvDatabase db, int slot, Snapshot snapshot) : base(db, snapshot.TxnId, snapshot.Meta, generation: 1)
    {
        _slot = slot;
        _ended = true;
    }

    /// <inheritdoc/>
    public override bool IsReadOnly => true;

    internal override PageContext Context => _context;

    internal MetaRecord SnapshotMeta { get; private set; }

    /// <summary>
    /// Starts a use on <paramref name="snapshot"/> and returns its generation. Called only by the thread that has
    /// just claimed this object's reader slot, so nothing else touches the object meanwhile.
    /// </summary>
    public long Begin(Snapshot snapshot)
    {
        Debug.Assert(_ended);
        TxnId = snapshot.TxnId;
        SnapshotMeta = snapshot.Meta;
        MainTree.Desc = snapshot.Meta.Main;
        CatalogTree.Desc = snapshot.Meta.Catalog;
        _context = Db.ContextAt(snapshot.Meta.PageCount, Db.Options.VerifyChecksums ? FreshVerifier() : null);
        if (!ReferenceEquals(snapshot, _resolvedFor))
        {
            _resolvedFor = snapshot;
            _resolvedCount = 0;
        }
        _ended = false;
        return CurrentGeneration;
    }

    /// <summary>Pages verified by one transaction must be verified again by the next: they may have been reused since.</summary>
    private PageVerifier FreshVerifier()
    {
        if (_verifier is null || _verifier.Count > MaxReusedVerifierPages) _verifier = new PageVerifier();
        else _verifier.Clear();
        return _verifier;
    }

    /// <summary>
    /// Looks up <paramref name="key"/> in the named tree <paramref name="treeName"/> of the use
    /// <paramref name="generation"/>: false if the tree or the key is missing. No tree handle is made, and the tree
    /// is resolved through <see cref="Resolve"/>, so once this state has seen the snapshot's tree the call
    /// allocates nothing and skips the catalog (the cache's Get, src/MmapKv.Caching).
    /// </summary>
    internal bool TryGetInTree(long generation, string treeName, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        CheckKey(key);
        using var use = Use(generation);
        ThrowIfEnded();
        ref readonly var tree = ref Resolve(treeName);
        if (!tree.Exists)
        {
            value = default;
            return false;
        }
        tree.Desc.Order?.CheckKey(key);
        bool found = TreeReader.TryGet(Context, tree.Desc, key, out value);
        if (Guard is not null) value = Guard.Copy(value);
        return found;
    }

    internal override TreeState? FindTree(string name)
    {
        ref readonly var tree = ref Resolve(name);
        return tree.Exists ? new TreeState(name, tree.Desc) : null;
    }

    /// <summary>
    /// The named tree in this use's snapshot, found or not: from the catalog the first time this state sees the name
    /// on this snapshot, then from memory. The remembered descriptor was read and validated (and with
    /// <see cref="KvOptions.VerifyChecksums"/>, its catalog pages verified) by an earlier use on the same snapshot,
    /// whose pages have not changed since (R1): it is exactly what the catalog search would return.
    /// </summary>
    /// <returns>An element of the state's array, valid until the next call.</returns>
    /// <exception cref="ArgumentException">The name cannot be a tree name (never remembered).</exception>
    private ref readonly ResolvedTree Resolve(string name)
    {
        var resolved = _resolved ??= new ResolvedTree[MaxResolvedTrees];
        for (int i = 0; i < _resolvedCount; i++)
            if (string.Equals(resolved[i].Name, name, StringComparison.Ordinal)) return ref resolved[i];
        bool exists = CommittedCatalog.TryFind(name, out var desc);
        int at = _resolvedCount;
        if (at < MaxResolvedTrees) _resolvedCount++;
        else
        {
            at = _nextReplaced;
            _nextReplaced = (at + 1) % MaxResolvedTrees;
        }
        resolved[at] = new ResolvedTree(name, exists, desc);
        return ref resolved[at];
    }

    /// <summary>Opens an existing named tree.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    internal KvTree OpenTree(long generation, string name, KeyOrder? order = null, IKeyComparer? comparer = null)
    {
        using var use = Use(generation);
        ThrowIfEnded();
        var state = FindTree(name) ?? throw new KeyNotFoundException($"No tree named '{name}' exists.");
        CheckKind(state, multimap: false);
        MatchOrder(state, order, comparer);
        return new KvTree(this, state, generation);
    }

    /// <summary>
    /// Ends the use <paramref name="generation"/>: its handles go stale first, then the object goes back to its
    /// slot and the slot is freed. A stale generation (a second Dispose) does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread is inside an operation of this transaction.</exception>
    public void End(long generation)
    {
        if (!Retire(generation)) return;
        _ended = true;
        Guard?.DropSpans();
        Db.EndRead(_slot, this);
    }


    /// <summary>
    /// A transaction that was never disposed and whose handles, cursors and trees are all unreachable: its slot
    /// starts the grace period after which the pages it holds may be reused (L2). An idle object is referenced by
    /// the database, so it gets here only when the database itself is gone, and then does nothing.
    /// </summary>
    ~ReadState()
    {
        if (!_ended) Db.AbandonRead(_slot);
    }
}
