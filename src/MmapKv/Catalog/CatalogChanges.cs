using MmapKv.BTree;
using MmapKv.Format;

namespace MmapKv.Catalog;

/// <summary>
/// The named trees as one write transaction sees them: the committed catalog, plus the trees it opened, created and
/// deleted. Nothing reaches the catalog tree until <see cref="WriteTo"/> at commit, so the committed catalog stays
/// the base for every lookup meanwhile. Each touched name keeps its stored key, encoded once, for the commit and for
/// ordering the names.
/// </summary>
internal sealed class CatalogChanges
{
    /// <summary>Trees this transaction has a state for: found in the committed catalog, or created here.</summary>
    private readonly Dictionary<string, Entry> _open = new(StringComparer.Ordinal);

    /// <summary>Names deleted here, with their keys; a name re-created afterwards is in <see cref="_open"/> too.</summary>
    private readonly Dictionary<string, byte[]> _deleted = new(StringComparer.Ordinal);

    private readonly record struct Entry(TreeState State, byte[] Key);

    /// <summary>Whether commit has catalog entries to write or delete.</summary>
    public bool HasChanges
    {
        get
        {
            if (_deleted.Count > 0) return true;
            foreach (var e in _open.Values) if (e.State.Dirty) return true;
            return false;
        }
    }

    /// <summary>The tree's state as this transaction sees it, or null if it does not exist (or was deleted here).</summary>
    /// <exception cref="ArgumentException">The name cannot be a tree name.</exception>
    public TreeState? Find(string name, in TreeCatalog committed)
    {
        if (_open.TryGetValue(name, out var open)) return open.State;
        if (_deleted.ContainsKey(name)) return null;
        byte[] key = committed.EncodeName(name);
        if (!committed.TryFind(key, name, out var desc)) return null;
        var state = new TreeState(name, desc);
        _open[name] = new Entry(state, key);
        return state;
    }

    /// <summary>A new, empty tree; the caller has checked that <paramref name="name"/> does not exist.</summary>
    public TreeState Create(string name, in TreeCatalog committed)
    {
        byte[] key = _deleted.TryGetValue(name, out var k) ? k : committed.EncodeName(name);
        var state = new TreeState(name, default) { Dirty = true };
        _open[name] = new Entry(state, key);
        return state;
    }

    /// <summary>Records the deletion of a tree this transaction has a state for; its pages are already freed.</summary>
    public void Delete(TreeState state)
    {
        string name = state.Name!;
        state.Deleted = true;
        _open.Remove(name, out var entry);
        _deleted[name] = entry.Key;
    }

    /// <summary>Writes the changes into the catalog tree: deletions, then every changed descriptor.</summary>
    public void WriteTo(TreeWriter writer, TreeState catalogTree)
    {
        foreach (var (name, key) in _deleted)
            if (!_open.ContainsKey(name)) writer.Delete(catalogTree, key);
        Span<byte> desc = stackalloc byte[TreeDescriptor.Size];
        foreach (var entry in _open.Values)
        {
            if (!entry.State.Dirty) continue;
            entry.State.Desc.Write(desc);
            writer.Put(catalogTree, entry.Key, desc);
        }
    }

    /// <summary>
    /// Names as this transaction sees them, in byte order of their stored keys: the committed names (already in that
    /// order) merged with the trees it has a state for (sorted once by their encoded keys).
    /// </summary>
    public List<string> Names(in TreeCatalog committed)
    {
        var mine = new List<Entry>(_open.Values);
        mine.Sort(static (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
        var names = new List<string>();
        int next = 0;
        var entries = committed.GetEnumerator();
        while (entries.MoveNext())
        {
            string name = entries.Current.Name;
            if (_open.ContainsKey(name) || _deleted.ContainsKey(name)) continue; // listed from mine, or gone
            var key = entries.CurrentKey;
            while (next < mine.Count && mine[next].Key.AsSpan().SequenceCompareTo(key) < 0) names.Add(mine[next++].State.Name!);
            names.Add(name);
        }
        while (next < mine.Count) names.Add(mine[next++].State.Name!);
        return names;
    }
}
