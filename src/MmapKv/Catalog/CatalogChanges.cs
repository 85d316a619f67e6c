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

    internal readonly record struct Entry(TreeState State, byte[] Key);

    /// <summary>
    /// Every tree state this transaction handed out, with how it came (found in the committed catalog, with that
    /// descriptor, or created here), so a savepoint rollback can revive or kill each one. Filled only while a
    /// savepoint exists (<see cref="_tracking"/>): before the first one, <see cref="Save"/> takes the states from
    /// <see cref="_open"/>.
    /// </summary>
    private readonly List<Handed> _handed = new();
    private bool _tracking;

    internal readonly record struct Handed(TreeState State, byte[] Key, bool Created, TreeDescriptor FoundDesc);

    /// <summary>Forgets every change, for the next write transaction (the database reuses one instance, under the writer lock).</summary>
    public void Clear()
    {
        _open.Clear();
        _deleted.Clear();
        _handed.Clear();
        _tracking = false;
    }

    /// <summary>The named trees as a savepoint saw them: the changes, and each state handed out with its descriptor and flags then.</summary>
    internal sealed class Snapshot
    {
        internal required Dictionary<string, Entry> Open { get; init; }
        internal required Dictionary<string, byte[]> Deleted { get; init; }
        internal required (Handed Handed, TreeDescriptor Desc, bool Dirty, bool Deleted)[] States { get; init; }
    }

    /// <summary>Records the named trees for a savepoint (W6). From now on every state handed out is tracked.</summary>
    internal Snapshot Save()
    {
        if (!_tracking)
        {
            // Before the first savepoint only the states in _open can be reached by a rollback: a state deleted
            // earlier is dead for good (its handles throw), as it was without savepoints.
            // (Every snapshot holds these, so their Created and FoundDesc are never read.)
            foreach (var e in _open.Values) _handed.Add(new Handed(e.State, e.Key, Created: true, e.State.Desc));
            _tracking = true;
        }
        var states = new (Handed, TreeDescriptor, bool, bool)[_handed.Count];
        for (int i = 0; i < states.Length; i++)
        {
            var h = _handed[i];
            states[i] = (h, h.State.Desc, h.State.Dirty, h.State.Deleted);
        }
        return new Snapshot
        {
            Open = new Dictionary<string, Entry>(_open, StringComparer.Ordinal),
            Deleted = new Dictionary<string, byte[]>(_deleted, StringComparer.Ordinal),
            States = states,
        };
    }

    /// <summary>
    /// Returns the named trees to <paramref name="snapshot"/>: every state it saw gets its descriptor and flags back
    /// (a tree deleted since lives again, and its old handles work); a state handed out since is dead (a tree created
    /// since), unless it is a committed tree first opened since, which the savepoint saw as committed: that one is
    /// reset to its committed descriptor and stays usable.
    /// </summary>
    internal void Restore(Snapshot snapshot)
    {
        var saved = new HashSet<TreeState>(ReferenceEqualityComparer.Instance);
        foreach (var s in snapshot.States) saved.Add(s.Handed.State);
        var revived = new List<Handed>();
        foreach (var h in _handed)
        {
            if (saved.Contains(h.State)) continue;
            string name = h.State.Name!;
            if (!h.Created && !snapshot.Open.ContainsKey(name) && !snapshot.Deleted.ContainsKey(name))
            {
                h.State.Reset(h.FoundDesc);
                revived.Add(h);
            }
            else
            {
                h.State.Dirty = false;
                h.State.Deleted = true;
            }
        }
        _open.Clear();
        foreach (var (name, entry) in snapshot.Open) _open.Add(name, entry);
        _deleted.Clear();
        foreach (var (name, key) in snapshot.Deleted) _deleted.Add(name, key);
        _handed.Clear();
        foreach (var (handed, desc, dirty, deleted) in snapshot.States)
        {
            handed.State.Desc = desc;
            handed.State.Dirty = dirty;
            handed.State.Deleted = deleted;
            _handed.Add(handed);
        }
        foreach (var h in revived)
        {
            _open[h.State.Name!] = new Entry(h.State, h.Key);
            _handed.Add(h);
        }
    }

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
        if (_tracking) _handed.Add(new Handed(state, key, Created: false, desc));
        return state;
    }

    /// <summary>A new, empty tree with descriptor <paramref name="flags"/> (its kind, docs/format.md §5.1); the
    /// caller has checked that <paramref name="name"/> does not exist.</summary>
    public TreeState Create(string name, in TreeCatalog committed, uint flags = 0)
    {
        byte[] key = _deleted.TryGetValue(name, out var k) ? k : committed.EncodeName(name);
        var state = new TreeState(name, new TreeDescriptor { Flags = flags }) { Dirty = true };
        _open[name] = new Entry(state, key);
        if (_tracking) _handed.Add(new Handed(state, key, Created: true, default));
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
