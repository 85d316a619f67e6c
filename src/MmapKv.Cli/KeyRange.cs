using System.Buffers.Binary;

namespace MmapKv.Cli;

/// <summary>
/// Which keys a scan visits: all, those with a prefix, or those in [From, To), in the tree's key order: on a
/// <see cref="KeyOrder.Reverse"/> tree From is the bytewise-largest key visited and To lies below every one, on an
/// integer tree the bounds are numbers. Bounds may be longer than the database's largest key, which
/// <see cref="KvCursor.Seek"/> refuses, so seeks go to a truncated bound and step over the one key that can sit
/// between the truncated and the real bound (the truncated bound itself).
/// </summary>
/// <remarks>
/// An empty bound is the smallest key bytewise: an empty prefix or bytewise From bounds nothing and an empty
/// bytewise To admits nothing; on a reverse tree, where the empty key sorts last, an empty From admits nothing and
/// an empty To bounds nothing. A prefix needs an order that keeps keys with a common prefix together: bytewise or
/// reverse (<see cref="BoundParser"/> refuses one on an integer tree).
/// </remarks>
internal sealed class KeyRange
{
    /// <summary>The tree's order: Bytewise, Reverse, Int64 or UInt64 (a custom order is not scanned by range).</summary>
    public KeyOrder Order { get; init; } = KeyOrder.Bytewise;
    public byte[]? Prefix { get; init; }
    public byte[]? From { get; init; }
    public byte[]? To { get; init; }

    private bool IsReverse => Order == KeyOrder.Reverse;

    /// <summary>Whether <paramref name="key"/> lies in the range. Keys arrive in order, so a false means the walk is over.</summary>
    public bool Contains(ReadOnlySpan<byte> key)
    {
        if (Prefix is not null && !key.StartsWith(Prefix)) return false;
        if (From is not null && Compare(key, From) < 0) return false;
        if (To is not null && Compare(key, To) >= 0) return false;
        return true;
    }

    /// <summary>The tree's order on two keys (integer keys are 8 bytes: a cursor never gives another length).</summary>
    private int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => Order switch
    {
        KeyOrder.Reverse => b.SequenceCompareTo(a),
        KeyOrder.Int64 => BinaryPrimitives.ReadInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadInt64LittleEndian(b)),
        KeyOrder.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadUInt64LittleEndian(b)),
        _ => a.SequenceCompareTo(b),
    };

    /// <summary>Moves to the first key of the range (in the tree's order). Returns false if there is none.</summary>
    public bool First(KvCursor c, int maxKey)
    {
        if (IsReverse) return FirstReverse(c, maxKey);
        byte[]? low = Prefix ?? From;
        if (low is null || low.Length == 0) return c.First();
        if (low.Length <= maxKey) return c.Seek(low);
        if (Prefix is not null) return false; // no key is long enough to carry this prefix
        byte[] cut = low[..maxKey];
        // Keys >= cut and no longer than cut are > low, except cut itself (a prefix of low, so smaller).
        if (!c.Seek(cut)) return false;
        return !c.Key.SequenceEqual(cut) || c.Next();
    }

    /// <summary>Moves to the last key of the range (for --reverse). Returns false if there is none.</summary>
    public bool Last(KvCursor c, int maxKey)
    {
        if (IsReverse) return LastReverse(c, maxKey);
        byte[]? high = To;
        if (Prefix is not null)
        {
            if (Prefix.Length > maxKey) return false;
            high = Successor(Prefix); // the first key after every key that starts with the prefix
        }
        if (high is null) return c.Last();
        if (high.Length == 0) return false; // nothing is below the empty key
        if (high.Length <= maxKey) return c.Seek(high) ? c.Prev() : c.Last();
        byte[] cut = high[..maxKey];
        // The one key in [cut, high) that fits is cut itself: stay on it, or step back from whatever follows.
        if (!c.Seek(cut)) return c.Last();
        return c.Key.SequenceEqual(cut) || c.Prev();
    }

    /// <summary>
    /// <see cref="First"/> on a reverse tree, whose cursor's Seek(k) goes to the bytewise-largest key &lt;= k. The
    /// keys with a prefix P run from the largest (just below P's successor) down to P itself. A From longer than the
    /// largest key visits what its cut visits, the cut included: between them lie only keys too long to exist.
    /// </summary>
    private bool FirstReverse(KvCursor c, int maxKey)
    {
        if (Prefix is not null)
        {
            if (Prefix.Length > maxKey) return false;
            if (Successor(Prefix) is not { } after) return c.First(); // all 0xFF: the prefix's keys are the largest
            if (!c.Seek(after)) return false;
            return !c.Key.SequenceEqual(after) || c.Next();
        }
        if (From is null) return c.First();
        if (From.Length == 0) return false; // nothing is bytewise <= the empty key
        return c.Seek(From.Length <= maxKey ? From : From[..maxKey]);
    }

    /// <summary><see cref="Last"/> on a reverse tree: the last key of a prefix is the prefix itself, or the key
    /// just before (bytewise above) where it would be; an empty To bounds nothing.</summary>
    private bool LastReverse(KvCursor c, int maxKey)
    {
        if (Prefix is not null)
        {
            if (Prefix.Length > maxKey) return false;
            if (Prefix.Length == 0) return c.Last();
            if (!c.Seek(Prefix)) return c.Last();
            return c.Key.SequenceEqual(Prefix) || c.Prev();
        }
        if (To is null || To.Length == 0) return c.Last();
        // Keys before a long To in this order are those before its cut: the cut itself is bytewise below To.
        return c.Seek(To.Length <= maxKey ? To : To[..maxKey]) ? c.Prev() : c.Last();
    }

    /// <summary>The smallest key greater than every key starting with <paramref name="prefix"/>; null when all bytes are 0xFF.</summary>
    internal static byte[]? Successor(byte[] prefix)
    {
        int n = prefix.Length;
        while (n > 0 && prefix[n - 1] == 0xFF) n--;
        if (n == 0) return null;
        byte[] next = prefix[..n];
        next[n - 1]++;
        return next;
    }
}
