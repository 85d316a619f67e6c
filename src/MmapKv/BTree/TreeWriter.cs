using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>
/// Insert and delete on a copy-on-write B+tree. Every page on the root-to-leaf path is shadowed (made dirty) before
/// it is changed, top-down, so a parent is always dirty before its child pointer is rewritten (W1).
/// </summary>
/// <remarks>
/// Tree invariants kept here and verified by the checker (docs/format.md §4.4):
/// T1 all leaves are at depth <c>Depth</c>; T2 keys ascend strictly within a page and across the leaves;
/// T3 in a branch, entry 0's key is empty (minus infinity) and every key in child i is &gt;= separator i and
/// &lt; separator i+1; T4 no committed page is empty; T5 the descriptor's counters match the pages.
/// </remarks>
internal sealed unsafe class TreeWriter
{
    private readonly IWritablePages _pages;
    private readonly int _pageSize;
    private readonly byte* _map;       // the map's base, which never moves: the file is mapped once
    private readonly int _maxKeySize;
    private readonly long[] _pathIds = new long[Limits.MaxTreeDepth];
    private readonly int[] _pathIdx = new int[Limits.MaxTreeDepth];
    private readonly long[] _findIds = new long[Limits.MaxTreeDepth]; // Reserve's second descent
    private readonly int[] _findIdx = new int[Limits.MaxTreeDepth];
    private readonly byte* _scratch;   // a page copy for splits and compaction
    private readonly byte* _entry;     // the leaf entry being inserted
    private readonly byte* _sepA;      // separators pushed up; two, so one level's input is never its output
    private readonly byte* _sepB;
    private readonly byte[] _buffers;

    // The append fast path. When set, _pathIds/_pathIdx hold the rightmost root-to-leaf path of this tree, every page
    // on it dirty: the state the last put (an insert at the end of the rightmost leaf, without a split) left behind.
    // A key greater than that leaf's last key then belongs at its end (T2, T3: it is above every separator), which
    // is where a descent would lead, so sequential loads insert without searching from the root. Any other edit
    // (a delete, a put elsewhere or in another tree, a split) clears it, and the next put descends as usual.
    private TreeState? _rightEdge;

    /// <summary>Bytes of scratch a writer needs for <paramref name="pageSize"/>.</summary>
    public static int BufferSize(int pageSize) => pageSize + 3 * (Limits.MaxEntrySize(pageSize) + 16);

    /// <param name="pages">The transaction's page bookkeeping.</param>
    /// <param name="buffers">Pinned scratch of <see cref="BufferSize"/> bytes, owned by the database and used only
    /// under the writer lock, so a write transaction allocates no pinned memory of its own.</param>
    public TreeWriter(IWritablePages pages, byte[] buffers)
    {
        _pages = pages;
        _pageSize = pages.PageSize;
        _map = pages.Context.Base;
        _maxKeySize = Limits.MaxKeySize(_pageSize);
        int entryMax = Limits.MaxEntrySize(_pageSize) + 16;
        _buffers = buffers;
        fixed (byte* b = _buffers)
        {
            _scratch = b;
            _entry = b + _pageSize;
            _sepA = _entry + entryMax;
            _sepB = _sepA + entryMax;
        }
    }

    /// <summary>
    /// Readies the writer for the next write transaction over the same pages object (the database reuses both):
    /// forgets the append fast path, whose tree state and path belong to the transaction that ended.
    /// </summary>
    public void Reset() => _rightEdge = null;

    // The most frequent call of an edit: computed here rather than through the interface.
    private byte* Page(long id) => _map + id * _pageSize;

    /// <summary>Walks from the root to the leaf for <paramref name="key"/>, filling the path. Returns whether the key exists.</summary>
    private bool Descend(TreeState t, ReadOnlySpan<byte> key)
    {
        TreeDescent.ToKey(_pages.Context, t.Desc, key, _pathIds, _pathIdx, out bool exact);
        return exact;
    }

    /// <summary>Shadows every committed page on the path, top-down, and rewires parents to the copies.</summary>
    private void TouchPath(TreeState t)
    {
        for (int level = 0; level < t.Desc.Depth; level++)
        {
            long id = _pathIds[level];
            if (_pages.IsDirty(id)) continue;
            ValidatedNode(id, level == t.Desc.Depth - 1);
            long copy = _pages.Shadow(id);
            _pathIds[level] = copy;
            if (level == 0) t.Desc.Root = copy;
            else NodeWriter.SetChild(Page(_pathIds[level - 1]), _pathIdx[level - 1], copy);
        }
    }

    public void Put(TreeState t, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        PutEntry(t, key, value, value.Length, fill: true, PutMode.Upsert);

    /// <summary>
    /// Puts as <paramref name="mode"/> says, in the one descent of a plain put: the descent itself tells whether the
    /// key exists, and a refused put returns false before any page is shadowed, any run allocated or the
    /// descriptor marked dirty, so it changes nothing. Returns whether it wrote.
    /// </summary>
    public bool Put(TreeState t, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, PutMode mode) =>
        PutEntry(t, key, value, value.Length, fill: true, mode);

    /// <summary>
    /// Inserts or replaces <paramref name="key"/> with a value of <paramref name="length"/> bytes left unwritten, and
    /// returns where those bytes live: inline in the (dirty) leaf, or in a new overflow run. The span stays where it
    /// is until the next edit of any tree of this transaction, which may move or split the leaf; the page checksums
    /// are computed at commit (the sealer), so what the caller writes there before then is what is committed.
    /// </summary>
    public Span<byte> Reserve(TreeState t, ReadOnlySpan<byte> key, int length)
    {
        PutEntry(t, key, default, length, fill: false, PutMode.Upsert);
        // Found again by a descent with arrays of its own, so the append fast path's path stays as PutEntry left it.
        var leaf = TreeDescent.ToKey(_pages.Context, t.Desc, key, _findIds, _findIdx, out bool exact);
        if (!exact) throw new InvalidOperationException("The entry just inserted was not found; the tree writer is inconsistent.");
        var value = leaf.ValueAt(_findIdx[t.Desc.Depth - 1], _pages.Context);
        // The leaf or run is dirty (allocated by this transaction), so writing through the map is copy-on-write safe (W1).
        return MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(value), value.Length);
    }

    /// <summary>
    /// Inserts the leaf entry for <paramref name="key"/> (built by <see cref="BuildLeafEntry"/> once the put is known
    /// to happen), replacing an entry with the same key, unless <paramref name="mode"/> refuses: then nothing is
    /// changed and it returns false. The entry is built after the descent, which only reads, and before the path is
    /// shadowed or the old value freed, so a value that points into the map (read in this transaction) is copied
    /// while it is still intact.
    /// </summary>
    private bool PutEntry(TreeState t, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int length, bool fill, PutMode mode)
    {
        if (t.Desc.IsEmpty)
        {
            if (mode == PutMode.UpdateOnly) return false;
            t.Dirty = true;
            var raw = new ReadOnlySpan<byte>(_entry, BuildLeafEntry(t, key, value, length, fill));
            long id = _pages.AllocatePage();
            NodeWriter.Init(Page(id), PageKind.Leaf, id, _pages.TxnId, _pageSize);
            NodeWriter.Append(Page(id), raw, key.Length);
            t.Desc.Root = id;
            t.Desc.Depth = 1;
            t.Desc.LeafPages = 1;
            t.Desc.Entries = 1;
            _pathIds[0] = id; // the new root is the whole rightmost path
            _pathIdx[0] = 0;
            _rightEdge = t;
            return true;
        }
        int leafLevel = t.Desc.Depth - 1;
        if (_rightEdge == t && IsPastRightEdge(_pathIds[leafLevel], key, t.Desc.Order))
        {
            // Past the last key: it is not there.
            if (mode == PutMode.UpdateOnly) return false;
            t.Dirty = true;
            var raw = new ReadOnlySpan<byte>(_entry, BuildLeafEntry(t, key, value, length, fill));
            int end = PageHeader.Count(Page(_pathIds[leafLevel]));
            _pathIdx[leafLevel] = end;
            t.Desc.Entries++;
            if (!Insert(t, leafLevel, end, raw, key.Length)) _rightEdge = null;
            return true;
        }
        _rightEdge = null;
        bool exists = Descend(t, key);
        if (exists ? mode == PutMode.InsertOnly : mode == PutMode.UpdateOnly) return false;
        t.Dirty = true;
        var entry = new ReadOnlySpan<byte>(_entry, BuildLeafEntry(t, key, value, length, fill));
        TouchPath(t);
        byte* leaf = Page(_pathIds[leafLevel]);
        int index = _pathIdx[leafLevel];
        if (exists)
        {
            FreeValue(t, index);
            NodeWriter.RemoveAt(leaf, index);
        }
        else t.Desc.Entries++;
        if (Insert(t, leafLevel, index, entry, key.Length) && index == PageHeader.Count(leaf) - 1 && IsRightmostPath(leafLevel))
            _rightEdge = t;
        return true;
    }

    /// <summary>Whether <paramref name="key"/> sorts after the last key of dirty leaf <paramref name="leafId"/>.</summary>
    private bool IsPastRightEdge(long leafId, ReadOnlySpan<byte> key, KeyComparer? order)
    {
        byte* leaf = Page(leafId);
        int count = PageHeader.Count(leaf);
        if (count == 0) return false;
        var last = NodeWriter.Key(leaf, count - 1);
        return (order is null ? key.SequenceCompareTo(last) : order.Compare(key, last)) > 0;
    }

    /// <summary>
    /// Builds the raw leaf entry in <see cref="_entry"/> for a value of <paramref name="length"/> bytes, writing a
    /// large value to a new overflow run (§4.3). With <paramref name="fill"/> the value's bytes are copied from
    /// <paramref name="value"/>; without (a reserve), they are left as they are, for the caller to write.
    /// </summary>
    private int BuildLeafEntry(TreeState t, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int length, bool fill)
    {
        key.CopyTo(new Span<byte>(_entry, key.Length));
        byte* tail = _entry + key.Length;
        if (NodeLayout.IsInline(_pageSize, key.Length, length))
        {
            Unsafe.WriteUnaligned(tail, (uint)length);
            if (fill) value.CopyTo(new Span<byte>(tail + NodeLayout.ValueInfoSize, length));
            return key.Length + NodeLayout.ValueInfoSize + length;
        }
        long pages = NodeLayout.OverflowRunPages(_pageSize, length);
        long first = _pages.AllocateRun(pages);
        byte* run = Page(first);
        PageHeader.Init(run, PageKind.Overflow, first, _pages.TxnId, (uint)length, (uint)pages);
        if (fill) value.CopyTo(new Span<byte>(run + PageHeader.Size, length));
        long slack = pages * _pageSize - PageHeader.Size - length; // see NodeWriter.Init: the checksum covers it
        new Span<byte>(run + PageHeader.Size + length, (int)slack).Clear();
        t.Desc.OverflowPages += pages;
        Unsafe.WriteUnaligned(tail, (uint)length | NodeLayout.OverflowFlag);
        Unsafe.WriteUnaligned(tail + NodeLayout.ValueInfoSize, first);
        return key.Length + NodeLayout.OverflowTailSize;
    }

    private void FreeValue(TreeState t, int index)
    {
        var node = _pages.Context.DirtyNode(_pathIds[t.Desc.Depth - 1]); // the path was shadowed: the leaf is ours
        long first = node.OverflowPageAt(index, out uint length);
        if (first == 0) return;
        long pages = NodeLayout.OverflowRunPages(_pageSize, length);
        _pages.Context.OverflowValue(first, length); // validates the run before it is freed
        _pages.FreeRun(first, pages);
        t.Desc.OverflowPages -= pages;
    }

    /// <summary>
    /// Inserts a raw entry at the path position of <paramref name="level"/>, splitting upward as needed. Returns
    /// whether it fitted without a split, that is, whether the path still leads to the entry.
    /// </summary>
    private bool Insert(TreeState t, int level, int index, ReadOnlySpan<byte> raw, int keyLength)
    {
        bool useA = true;
        bool fitted = true;
        while (true)
        {
            byte* p = Page(_pathIds[level]);
            bool leaf = level == t.Desc.Depth - 1;
            if (NodeWriter.TryInsert(p, _pageSize, leaf, index, raw, keyLength, _scratch)) return fitted;
            fitted = false;

            byte* sep = useA ? _sepA : _sepB;
            useA = !useA;
            int sepKeyLength = Split(t, level, leaf, index, raw, keyLength, sep, out long right);
            Unsafe.WriteUnaligned(sep + sepKeyLength, right);
            raw = new ReadOnlySpan<byte>(sep, sepKeyLength + NodeLayout.BranchTailSize);
            keyLength = sepKeyLength;
            if (level == 0)
            {
                // The root split: a new root with the old root as its minus-infinity child.
                long root = _pages.AllocatePage();
                byte* r = Page(root);
                NodeWriter.Init(r, PageKind.Branch, root, _pages.TxnId, _pageSize);
                long left = _pathIds[0];
                NodeWriter.Append(r, new ReadOnlySpan<byte>(&left, sizeof(long)), 0);
                NodeWriter.Append(r, raw, keyLength);
                t.Desc.Root = root;
                t.Desc.Depth++;
                t.Desc.BranchPages++;
                return false;
            }
            level--;
            index = _pathIdx[level] + 1;
        }
    }

    /// <summary>
    /// Splits page <c>_pathIds[level]</c> while inserting <paramref name="raw"/> at <paramref name="index"/>. The left
    /// half stays in place, the right half goes to a new page. Writes the separator key for the parent to
    /// <paramref name="sep"/> and returns its length. Both halves fit because no entry exceeds a quarter page (N4).
    /// </summary>
    private int Split(TreeState t, int level, bool leaf, int index, ReadOnlySpan<byte> raw, int keyLength, byte* sep, out long right)
    {
        byte* p = Page(_pathIds[level]);
        Buffer.MemoryCopy(p, _scratch, _pageSize, _pageSize);
        int count = PageHeader.Count(_scratch);
        int n = count + 1;

        // Choose the split point s: entries [0, s) stay left, [s, n) move right.
        int s;
        if (leaf && index == count && IsRightmostPath(level))
            s = count; // appending at the right edge: keep the left page full, as sequential loads want
        else
        {
            int total = 0;
            for (int j = 0; j < n; j++) total += NodeLayout.SlotSize + VirtualRaw(j, index, raw, leaf).Length;
            int acc = 0;
            s = 1;
            for (int j = 0; j < n - 1; j++)
            {
                acc += NodeLayout.SlotSize + VirtualRaw(j, index, raw, leaf).Length;
                s = j + 1;
                if (acc * 2 >= total) break;
            }
        }

        right = _pages.AllocatePage();
        byte* r = Page(right);
        PageKind kind = leaf ? PageKind.Leaf : PageKind.Branch;
        NodeWriter.Init(r, kind, right, _pages.TxnId, _pageSize);
        if (s != count || index != count)
        {
            // Rebuild the left half. (At the right edge, s == count == index: every old entry stays where it is.)
            NodeWriter.Clear(p, _pageSize);
            for (int j = 0; j < s; j++)
                NodeWriter.Append(p, VirtualRaw(j, index, raw, leaf), VirtualKeyLength(j, index, keyLength));
        }

        int sepLength;
        if (leaf)
        {
            var high = VirtualKey(s, index, raw, keyLength);
            if (t.Desc.Order is null) sepLength = ShortestSeparator(VirtualKey(s - 1, index, raw, keyLength), high, sep);
            else
            {
                // Suffix truncation is a bytewise idea: under another order a prefix of high need not sort above
                // low, so the separator is high itself (low < high <= high holds in any order).
                high.CopyTo(new Span<byte>(sep, high.Length));
                sepLength = high.Length;
            }
            for (int j = s; j < n; j++)
                NodeWriter.Append(r, VirtualRaw(j, index, raw, leaf), VirtualKeyLength(j, index, keyLength));
            t.Desc.LeafPages++;
        }
        else
        {
            // The first key moving right goes up as the separator; in the new page it becomes minus infinity.
            var first = VirtualKey(s, index, raw, keyLength);
            first.CopyTo(new Span<byte>(sep, first.Length));
            sepLength = first.Length;
            NodeWriter.Append(r, VirtualRaw(s, index, raw, leaf)[first.Length..], 0);
            for (int j = s + 1; j < n; j++)
                NodeWriter.Append(r, VirtualRaw(j, index, raw, leaf), VirtualKeyLength(j, index, keyLength));
            t.Desc.BranchPages++;
        }
        return sepLength;
    }

    private bool IsRightmostPath(int level)
    {
        for (int l = 0; l < level; l++)
            if (_pathIdx[l] != PageHeader.Count(Page(_pathIds[l])) - 1) return false;
        return true;
    }

    // Entry j of the page being split, as if raw were already inserted at index. Reads the scratch copy.
    private ReadOnlySpan<byte> VirtualRaw(int j, int index, ReadOnlySpan<byte> raw, bool leaf) =>
        j < index ? NodeWriter.Raw(_scratch, j, leaf) : j == index ? raw : NodeWriter.Raw(_scratch, j - 1, leaf);

    private int VirtualKeyLength(int j, int index, int keyLength) =>
        j < index ? NodeWriter.KeyLength(_scratch, j) : j == index ? keyLength : NodeWriter.KeyLength(_scratch, j - 1);

    private ReadOnlySpan<byte> VirtualKey(int j, int index, ReadOnlySpan<byte> raw, int keyLength) =>
        j < index ? NodeWriter.Key(_scratch, j) : j == index ? raw[..keyLength] : NodeWriter.Key(_scratch, j - 1);

    /// <summary>
    /// The shortest prefix of <paramref name="high"/> that is greater than <paramref name="low"/> (low &lt; high).
    /// Short separators keep branches wide and trees shallow (suffix truncation).
    /// </summary>
    internal static int ShortestSeparator(ReadOnlySpan<byte> low, ReadOnlySpan<byte> high, byte* output)
    {
        int common = low.CommonPrefixLength(high);
        int length = Math.Min(common + 1, high.Length);
        high[..length].CopyTo(new Span<byte>(output, length));
        return length;
    }

    public bool Delete(TreeState t, ReadOnlySpan<byte> key)
    {
        _rightEdge = null;
        if (t.Desc.IsEmpty || !Descend(t, key)) return false;
        t.Dirty = true;
        TouchPath(t);
        int leafLevel = t.Desc.Depth - 1;
        byte* leaf = Page(_pathIds[leafLevel]);
        FreeValue(t, _pathIdx[leafLevel]);
        NodeWriter.RemoveAt(leaf, _pathIdx[leafLevel]);
        t.Desc.Entries--;
        Rebalance(t, leafLevel);
        return true;
    }

    /// <summary>
    /// Restores T4 and keeps pages reasonably full after a removal at <paramref name="level"/>: a page under a
    /// quarter full merges with a sibling when both fit in one page, and the parent is then checked in turn. A root
    /// branch with one child is replaced by that child, so the tree loses depth as it shrinks.
    /// </summary>
    private void Rebalance(TreeState t, int level)
    {
        int threshold = NodeWriter.Capacity(_pageSize) / 4;
        while (true)
        {
            long id = _pathIds[level];
            byte* p = Page(id);
            bool leaf = level == t.Desc.Depth - 1;
            int count = PageHeader.Count(p);
            if (level == 0)
            {
                CollapseRoot(t, p, count, leaf);
                return;
            }
            if (count == 0)
            {
                RemoveChild(t, Page(_pathIds[level - 1]), _pathIdx[level - 1], id, leaf);
                level--;
                continue;
            }
            if (NodeWriter.UsesAtLeast(p, leaf, threshold)) return;

            byte* parent = Page(_pathIds[level - 1]);
            int pIndex = _pathIdx[level - 1];
            int pCount = PageHeader.Count(parent);
            if (pCount == 1) return; // an only child, small but not empty: nothing to merge with
            int rightIndex = pIndex + 1 < pCount ? pIndex + 1 : pIndex;
            long rightId = NodeWriter.Child(parent, rightIndex);
            byte* r = ValidatedNode(rightId, leaf);
            byte* l = ValidatedNode(NodeWriter.Child(parent, rightIndex - 1), leaf);
            var separator = NodeWriter.Key(parent, rightIndex);
            int merged = NodeWriter.UsedBytes(l, leaf) + NodeWriter.UsedBytes(r, leaf) + (leaf ? 0 : separator.Length);
            if (merged > NodeWriter.Capacity(_pageSize)) return;
            // Only the surviving left page is written; the right one is read and then freed.
            l = Page(ShadowChild(parent, rightIndex - 1, leaf));
            MergeInto(l, r, leaf, separator);
            RemoveChild(t, parent, rightIndex, rightId, leaf);
            level--;
        }
    }

    private void CollapseRoot(TreeState t, byte* root, int count, bool leaf)
    {
        while (true)
        {
            if (count == 0)
            {
                _pages.FreePage(t.Desc.Root);
                t.Desc = t.Desc.Emptied; // the tree's kind (its flags) and key order outlive its last entry
                return;
            }
            if (leaf || count != 1) return;
            long child = NodeWriter.Child(root, 0);
            _pages.FreePage(t.Desc.Root);
            t.Desc.Root = child;
            t.Desc.Depth--;
            t.Desc.BranchPages--;
            leaf = t.Desc.Depth == 1;
            var node = _pages.Context.Node(child, leaf ? PageKind.Leaf : PageKind.Branch);
            root = node.P;
            count = node.Count;
        }
    }

    /// <summary>A committed page about to be read whole or copied: header and every slot checked (N1–N5).</summary>
    private byte* ValidatedNode(long id, bool leaf)
    {
        var node = _pages.Context.Node(id, leaf ? PageKind.Leaf : PageKind.Branch);
        if (_pages.IsDirty(id)) return node.P;
        if (node.ValidateEntries(_maxKeySize) is { } problem) Corrupt.Throw(id, problem);
        // W3: a committed page never references a page this transaction allocated. The open rules out node pages
        // marked free (FreeMapAudit); this also catches an overflow run that a damaged map called free.
        int count = node.Count;
        for (int i = 0; i < count; i++)
        {
            long child = leaf ? node.OverflowPageAt(i, out _) : node.ChildAt(i);
            if (child != 0 && (leaf ? _pages.IsDirtyRun(child) : _pages.IsDirty(child)))
                Corrupt.Throw(child, "a live page was marked free and reused (damaged free map)");
        }
        return node.P;
    }

    /// <summary>Makes child <paramref name="i"/> of a dirty parent dirty, rewiring the parent. Returns its id.</summary>
    private long ShadowChild(byte* parent, int i, bool leaf)
    {
        long id = NodeWriter.Child(parent, i);
        if (_pages.IsDirty(id)) return id; // else validated whole by the caller before the merge decision
        long copy = _pages.Shadow(id);
        NodeWriter.SetChild(parent, i, copy);
        return copy;
    }

    /// <summary>Appends every entry of <paramref name="r"/> to <paramref name="l"/>; for branches the parent's separator becomes the key of r's first entry.</summary>
    private void MergeInto(byte* l, byte* r, bool leaf, ReadOnlySpan<byte> separator)
    {
        NodeWriter.Compact(l, _pageSize, leaf, _scratch);
        int count = PageHeader.Count(r);
        for (int j = 0; j < count; j++)
        {
            var raw = NodeWriter.Raw(r, j, leaf);
            if (!leaf && j == 0)
            {
                separator.CopyTo(new Span<byte>(_sepA, separator.Length));
                raw.CopyTo(new Span<byte>(_sepA + separator.Length, raw.Length));
                NodeWriter.Append(l, new ReadOnlySpan<byte>(_sepA, separator.Length + raw.Length), separator.Length);
            }
            else NodeWriter.Append(l, raw, NodeWriter.KeyLength(r, j));
        }
    }

    /// <summary>
    /// Removes child <paramref name="index"/> from a dirty parent and frees it. When the first child goes, the new
    /// first entry is rewritten with an empty key, keeping T3.
    /// </summary>
    private void RemoveChild(TreeState t, byte* parent, int index, long child, bool leaf)
    {
        NodeWriter.RemoveAt(parent, index);
        if (index == 0 && PageHeader.Count(parent) > 0)
        {
            long first = NodeWriter.Child(parent, 0);
            NodeWriter.RemoveAt(parent, 0);
            NodeWriter.TryInsert(parent, _pageSize, false, 0, new ReadOnlySpan<byte>(&first, sizeof(long)), 0, _scratch);
        }
        _pages.FreePage(child);
        if (leaf) t.Desc.LeafPages--;
        else t.Desc.BranchPages--;
    }

    /// <summary>
    /// Frees every page of a tree (used when a named tree is deleted), through <see cref="TreeWalker"/>: a damaged
    /// tree that shares a subtree or an overflow run throws <see cref="CorruptDatabaseException"/> naming the page,
    /// instead of taking exponential time and freeing pages twice.
    /// </summary>
    public void FreeAll(TreeState t)
    {
        _rightEdge = null;
        if (!t.Desc.IsEmpty) new TreeWalker(_pages.Context).Walk(t.Desc, new Freeing(_pages));
        t.Desc.Clear(); // keeps the key order
        t.Dirty = true;
    }

    /// <summary>Frees what the walk reaches; a page reached twice is damage, and aborts the transaction.</summary>
    private sealed class Freeing(IWritablePages pages) : ITreeVisitor
    {
        public void Node(Node node, int level, KeyBounds bounds) => pages.FreePage(node.Id);

        public void OverflowRun(long first, long runPages, long leaf) => pages.FreeRun(first, runPages);

        public void Repeated(long pageId, long fromPageId, string reason) => Corrupt.Throw(pageId, reason);
    }
}
