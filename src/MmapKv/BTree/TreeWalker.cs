using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>
/// What a <see cref="TreeWalker"/> reports. The walker decides the traversal and the repeat rule; the visitor
/// decides what a visit does (free the page, count it, check it) and whether a repeat is fatal.
/// </summary>
internal interface ITreeVisitor
{
    /// <summary>
    /// A node page reached for the first time, before its children (pre-order). <paramref name="node"/> has
    /// passed <see cref="PageContext.Node"/>: inside the snapshot, of the kind its level requires (T1), with a
    /// plausible header. Slots are checked only as they are read.
    /// </summary>
    /// <param name="node">The page.</param>
    /// <param name="level">0 for the root; <c>Depth - 1</c> for a leaf.</param>
    /// <param name="bounds">The key range the page's keys must lie in, from the separators above it (T3).</param>
    void Node(Node node, int level, KeyBounds bounds);

    /// <summary>
    /// An overflow run reached for the first time. Its header already matches the reference
    /// (<see cref="PageContext.OverflowValue"/>, docs/format.md §4.3).
    /// </summary>
    /// <param name="first">The run's first page.</param>
    /// <param name="runPages">Pages in the run.</param>
    /// <param name="leaf">The leaf holding the reference.</param>
    void OverflowRun(long first, long runPages, long leaf);

    /// <summary>
    /// <paramref name="pageId"/> was reached a second time: from <paramref name="fromPageId"/>, a page of this walk.
    /// A valid tree never shares a page, so this is damage (a shared subtree, or a cycle). The walker has not
    /// descended and will not: it goes on with the next entry of <paramref name="fromPageId"/> unless this throws.
    /// </summary>
    void Repeated(long pageId, long fromPageId, string reason);
}

/// <summary>
/// The key range a node's keys must lie in (docs/format.md §4.4, T3): at least the separator that leads to it
/// (when it has one on the left), and below the next one (when it has one on the right). Spans into the map.
/// </summary>
internal readonly ref struct KeyBounds
{
    public readonly ReadOnlySpan<byte> Lower;
    public readonly ReadOnlySpan<byte> Upper;
    public readonly bool HasLower;
    public readonly bool HasUpper;

    public KeyBounds(ReadOnlySpan<byte> lower, bool hasLower, ReadOnlySpan<byte> upper, bool hasUpper)
    {
        Lower = lower;
        HasLower = hasLower;
        Upper = upper;
        HasUpper = hasUpper;
    }

    /// <summary>The range of child <paramref name="i"/> of <paramref name="branch"/>, whose own range this is.</summary>
    public KeyBounds Child(Node branch, int i)
    {
        bool last = i == branch.Count - 1;
        // Entry 0's key is minus infinity: child 0 inherits the branch's lower bound.
        return new KeyBounds(i == 0 ? Lower : branch.KeyAt(i), i == 0 ? HasLower : true,
            last ? Upper : branch.KeyAt(i + 1), last ? HasUpper : true);
    }
}

/// <summary>
/// The one traversal of a whole tree: visits every page of it (branches and leaves, and the overflow runs the
/// leaves reference) exactly once, depth first, entries in order, each node before its children.
/// </summary>
/// <remarks>
/// <para>The repeat rule: a page (node page, or the first page of an overflow run) reached a second time is never
/// read or descended into again; it is reported to <see cref="ITreeVisitor.Repeated"/> with its id and the
/// reason. A damaged tree can share subtrees (a DAG) or contain a cycle; descending twice would take exponential
/// time, or forever, and would let a visitor act on one page twice (free it twice). What a repeat means is the
/// visitor's choice: the writer throws <see cref="CorruptDatabaseException"/> naming the page, a checker records
/// it and carries on.</para>
/// <para>Pages reached are remembered per walker, across calls of <see cref="Walk"/>: walk several trees with one
/// walker to catch a page shared between trees, or use one walker per tree to check each alone.</para>
/// <para>Everything else that is wrong with a page (out of range, wrong kind for its level, a slot outside the
/// page, an overflow header that does not match its reference) throws <see cref="CorruptDatabaseException"/>
/// from <see cref="PageContext"/>, as every read does. Recursion is bounded by the descriptor's depth, which
/// <see cref="TreeDescriptor.Validate"/> bounds by <see cref="Limits.MaxTreeDepth"/>.</para>
/// </remarks>
internal sealed class TreeWalker
{
    private readonly PageContext _ctx;
    private readonly HashSet<long> _reached = new();
    private Func<long, bool>? _enter; // the current walk's, see Walk

    public TreeWalker(PageContext ctx) => _ctx = ctx;

    /// <summary>Visits every page of <paramref name="tree"/> not reached before by this walker.</summary>
    /// <param name="tree">The tree.</param>
    /// <param name="visitor">What each visit does.</param>
    /// <param name="readLeaves">False: visit the branch pages only (leaves are neither read nor remembered; a
    /// visitor that needs their ids reads them from their parents). A cheap walk: about one page in a hundred.</param>
    /// <param name="enter">Null: every page. Otherwise asked for each page (node page or overflow run's first page)
    /// before it is read or remembered: false skips it and everything below it, silently. Walks of a savepoint's state
    /// use it to leave out what another state shares (docs/format.md §13.3).</param>
    public void Walk(in TreeDescriptor tree, ITreeVisitor visitor, bool readLeaves = true, Func<long, bool>? enter = null)
    {
        if (tree.IsEmpty || (!readLeaves && tree.Depth == 1)) return;
        _enter = enter;
        if (enter is not null && !enter(tree.Root)) return;
        if (!_reached.Add(tree.Root)) { visitor.Repeated(tree.Root, 0, "the tree's root is reached twice"); return; }
        Visit(tree.Root, 0, readLeaves ? tree.Depth : tree.Depth - 1, tree.Depth, visitor, default);
    }

    /// <summary>
    /// Visits page <paramref name="id"/>, already marked reached, and everything below it down to level
    /// <paramref name="levels"/> - 1 (the leaves when <paramref name="levels"/> is the tree's depth).
    /// </summary>
    private void Visit(long id, int level, int levels, int depth, ITreeVisitor visitor, KeyBounds bounds)
    {
        bool leaf = level == depth - 1;
        Node node = _ctx.Node(id, leaf ? PageKind.Leaf : PageKind.Branch);
        visitor.Node(node, level, bounds);
        int count = node.Count;
        for (int i = 0; i < count; i++)
        {
            if (!leaf)
            {
                if (level + 1 == levels) break; // branches only: the children are leaves, which are not read
                long child = node.ChildAt(i);
                if (_enter is not null && !_enter(child)) continue;
                if (_reached.Add(child)) Visit(child, level + 1, levels, depth, visitor, bounds.Child(node, i));
                else visitor.Repeated(child, id, "page is referenced twice in one tree");
                continue;
            }
            long first = node.OverflowPageAt(i, out uint length);
            if (first == 0) continue;
            _ctx.OverflowValue(first, length); // validates the run's header against the reference
            if (_enter is not null && !_enter(first)) continue;
            if (_reached.Add(first)) visitor.OverflowRun(first, NodeLayout.OverflowRunPages(_ctx.PageSize, length), id);
            else visitor.Repeated(first, id, "overflow run is referenced twice in one tree");
        }
    }
}
