namespace MmapKv.Cli;

/// <summary>
/// Which keys a scan visits: all, those with a prefix, or those in [From, To). Bounds may be longer than the
/// database's largest key, which <see cref="KvCursor.Seek"/> refuses, so seeks go to a truncated bound and step
/// over the one key that can sit between the truncated and the real bound (the truncated bound itself).
/// </summary>
internal sealed class KeyRange
{
    public byte[]? Prefix { get; init; }
    public byte[]? From { get; init; }
    public byte[]? To { get; init; }

    /// <summary>Whether <paramref name="key"/> lies in the range. Keys arrive in order, so a false means the walk is over.</summary>
    public bool Contains(ReadOnlySpan<byte> key)
    {
        if (Prefix is not null && !key.StartsWith(Prefix)) return false;
        if (From is not null && key.SequenceCompareTo(From) < 0) return false;
        if (To is not null && key.SequenceCompareTo(To) >= 0) return false;
        return true;
    }

    /// <summary>Moves to the first key of the range (in forward order). Returns false if there is none.</summary>
    public bool First(KvCursor c, int maxKey)
    {
        byte[]? low = Prefix ?? From;
        if (low is null) return c.First();
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
