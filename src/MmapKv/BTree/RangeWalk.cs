using System.Buffers;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.BTree;

/// <summary>
/// A walk over a key range with a <see cref="TreePath"/>, ascending or descending. A range is either
/// <c>[from, to)</c>, where an empty bound is open (a key is never empty, so an empty span cannot be a real bound),
/// or the keys that start with a non-empty <c>prefix</c> (then both bounds are empty). Keys compare in the tree's
/// order (bytewise, shorter first on a common prefix, unless the tree has another: docs/design.md §16); a prefix
/// walk needs a bytewise tree, which the caller checks.
/// </summary>
internal static class RangeWalk
{
    /// <summary>Bytes of the largest prefix whose successor is built on the stack; longer ones rent a buffer.</summary>
    private const int StackSuccessor = 256;

    /// <summary>Positions <paramref name="path"/> at the first entry of the range in the walk's direction. Returns
    /// false, with the path reset, when the range holds no entry.</summary>
    public static bool Start(ref TreePath path, PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> from,
        ReadOnlySpan<byte> to, ReadOnlySpan<byte> prefix, bool reverse)
    {
        bool ok;
        if (!reverse)
        {
            var low = prefix.IsEmpty ? from : prefix;
            ok = low.IsEmpty ? path.First(ctx, tree) : path.Seek(ctx, tree, low, out _);
        }
        else if (prefix.IsEmpty) ok = to.IsEmpty ? path.Last(ctx, tree) : Before(ref path, ctx, tree, to);
        else ok = BeforeSuccessor(ref path, ctx, tree, prefix);
        return Checked(ref path, ok, from, to, prefix, reverse);
    }

    /// <summary>Moves to the next entry of the range in the walk's direction; false (path reset) past its end.</summary>
    public static bool Step(ref TreePath path, PageContext ctx, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to,
        ReadOnlySpan<byte> prefix, bool reverse) =>
        Checked(ref path, reverse ? path.Prev(ctx) : path.Next(ctx), from, to, prefix, reverse);

    /// <summary>Whether the entry the path reached is still in the range: only the far end needs checking, since
    /// the walk started at the near one.</summary>
    private static bool Checked(ref TreePath path, bool ok, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to,
        ReadOnlySpan<byte> prefix, bool reverse)
    {
        if (!ok) return false;
        var key = path.Leaf(out int i).KeyAt(i);
        var order = path.Order;
        bool inside = !prefix.IsEmpty
            ? key.StartsWith(prefix)
            : reverse ? from.IsEmpty || Compare(order, key, from) >= 0 : to.IsEmpty || Compare(order, key, to) < 0;
        if (!inside) path.Reset();
        return inside;
    }

    private static int Compare(KeyComparer? order, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        order is null ? a.SequenceCompareTo(b) : order.Compare(a, b);

    /// <summary>Positions at the last entry whose key is less than <paramref name="bound"/>.</summary>
    private static bool Before(ref TreePath path, PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> bound) =>
        path.Seek(ctx, tree, bound, out _) ? path.Prev(ctx) : path.Last(ctx, tree);

    /// <summary>
    /// Positions at the last entry that starts with <paramref name="prefix"/> or sorts before it: the last entry
    /// before the prefix's successor, the shortest key greater than every key with the prefix (the prefix without
    /// its trailing 0xFF bytes, last byte plus one). A prefix of only 0xFF bytes has none: every key after it
    /// starts with it, so the walk starts at the last entry.
    /// </summary>
    private static bool BeforeSuccessor(ref TreePath path, PageContext ctx, in TreeDescriptor tree, ReadOnlySpan<byte> prefix)
    {
        int n = prefix.Length;
        while (n > 0 && prefix[n - 1] == 0xFF) n--;
        if (n == 0) return path.Last(ctx, tree);
        byte[]? rented = null;
        Span<byte> successor = n <= StackSuccessor ? stackalloc byte[StackSuccessor] : (rented = ArrayPool<byte>.Shared.Rent(n));
        try
        {
            prefix[..n].CopyTo(successor);
            successor[n - 1]++;
            return Before(ref path, ctx, tree, successor[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
