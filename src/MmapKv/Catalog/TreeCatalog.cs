using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Catalog;

/// <summary>
/// A read view of one catalog tree (docs/format.md §5): the names of the named trees and their descriptors.
/// Every reader of the catalog goes through here, so one set of checks decides what a damaged entry is: a name
/// that is not strict UTF-8 of 1..MaxKeySize bytes (<see cref="TreeName"/>), a value that is not exactly
/// <see cref="TreeDescriptor.Size"/> bytes, or a descriptor that fails <see cref="TreeDescriptor.Validate"/>.
/// Damage raises <see cref="CorruptDatabaseException"/> naming the catalog leaf that holds the entry.
/// </summary>
/// <remarks>
/// A value type over the page view: building one allocates nothing, so a transaction makes a fresh one per use
/// (a write transaction's page count grows as it allocates).
/// </remarks>
internal readonly struct TreeCatalog
{
    private readonly PageContext _ctx;
    private readonly TreeDescriptor _tree;
    private readonly int _maxKeySize;

    public TreeCatalog(PageContext ctx, in TreeDescriptor catalogTree, int maxKeySize)
    {
        _ctx = ctx;
        _tree = catalogTree;
        _maxKeySize = maxKeySize;
    }

    /// <summary>The stored key of <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty, not valid Unicode, or too long (a caller error, not damage).</exception>
    public byte[] EncodeName(string name) => TreeName.Encode(name, _maxKeySize);

    /// <summary>Looks up a tree by name; the descriptor found is validated.</summary>
    /// <exception cref="ArgumentException">The name cannot be a tree name.</exception>
    public bool TryFind(string name, out TreeDescriptor descriptor) => TryFind(EncodeName(name), name, out descriptor);

    /// <summary>Looks up a tree by its pre-encoded key (<see cref="EncodeName"/>); <paramref name="name"/> is for messages.</summary>
    public bool TryFind(ReadOnlySpan<byte> key, string name, out TreeDescriptor descriptor)
    {
        if (!TreeReader.TryGet(_ctx, _tree, key, out var value, out long leaf)) { descriptor = default; return false; }
        descriptor = ReadDescriptor(value, leaf, name);
        return true;
    }

    private TreeDescriptor ReadDescriptor(ReadOnlySpan<byte> value, long leaf, string name)
    {
        if (value.Length != TreeDescriptor.Size)
            Corrupt.Throw(leaf, $"catalog entry for tree '{name}' is {value.Length} bytes, expected {TreeDescriptor.Size}");
        var desc = TreeDescriptor.Read(value);
        if (desc.Validate(_ctx.PageCount) is { } problem) Corrupt.Throw(leaf, $"catalog entry for tree '{name}': {problem}");
        return desc;
    }

    private string DecodeName(ReadOnlySpan<byte> key, long leaf)
    {
        try { return TreeName.Decode(key, _maxKeySize); }
        catch (CorruptDatabaseException e) { throw Corrupt.Create(leaf, e.Message); }
    }

    /// <summary>The entries in byte order of their stored names, each validated as it is reached.</summary>
    public Enumerator GetEnumerator() => new(this);

    /// <summary>
    /// Walks the catalog with one <see cref="CursorPath"/> (that object is the only allocation besides the
    /// names). A damaged entry throws from <see cref="MoveNext"/> with the cursor already on that entry, so a caller
    /// that reports instead of failing (the checker) can call <see cref="MoveNext"/> again to go on past it; a
    /// damaged catalog page ends the walk.
    /// </summary>
    public struct Enumerator
    {
        private readonly TreeCatalog _catalog;
        private readonly CursorPath _path;
        private bool _started;
        private bool _broken; // the walk itself failed: no position to go on from
        private CatalogEntry _current;

        internal Enumerator(TreeCatalog catalog)
        {
            _catalog = catalog;
            _path = new CursorPath();
            _started = false;
            _broken = false;
            _current = default;
        }

        public readonly CatalogEntry Current => _current;

        /// <summary>The stored key of <see cref="Current"/>, pointing into the map (valid while the view is).</summary>
        public readonly ReadOnlySpan<byte> CurrentKey
        {
            get
            {
                var leaf = _path.Leaf(_catalog._ctx, out int i);
                return leaf.KeyAt(i);
            }
        }

        public bool MoveNext()
        {
            if (_broken) return false;
            var ctx = _catalog._ctx;
            _broken = true; // cleared once the cursor stands on an entry, so a throw from the walk ends it
            bool ok = _started ? _path.Next(ctx) : _path.First(ctx, _catalog._tree);
            _started = true;
            _broken = false;
            if (!ok) { _broken = true; return false; }
            var leaf = _path.Leaf(ctx, out int i);
            string name = _catalog.DecodeName(leaf.KeyAt(i), leaf.Id);
            _current = new CatalogEntry(name, _catalog.ReadDescriptor(leaf.ValueAt(i, ctx), leaf.Id, name));
            return true;
        }
    }
}
