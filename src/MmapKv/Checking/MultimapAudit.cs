using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Checking;

/// <summary>
/// The checks of a multimap tree's contents (docs/format.md §5.1, §9), run by <see cref="DatabaseChecker"/> after
/// the tree's pages passed the walk: every entry key is a valid composite key; the header comes first, with a
/// 16-byte value whose counts equal the keys and values found; each key's count entry has an 8-byte value of at
/// least 1 and equal to the number of value entries that follow it; every value entry follows its key's count
/// entry and has an empty entry value. The entry order itself is T2, already checked by the walk.
/// </summary>
internal static class MultimapAudit
{
    /// <summary>Reports stop after this many problems in one tree; one damaged count would otherwise repeat.</summary>
    private const int MaxProblems = 20;

    public static void Run(PageContext ctx, in TreeDescriptor desc, string tree, CheckReport report)
    {
        if (desc.IsEmpty) return;
        int problems = 0;
        void Add(string problem)
        {
            if (problems++ < MaxProblems) report.Add($"{tree}: {problem}");
        }
        var path = new CursorPath();
        byte[] currentKey = new byte[16];
        int currentLength = -1; // no count entry seen yet
        long declared = 0, seen = 0, keys = 0, values = 0, headerKeys = 0, headerValues = 0;
        bool header = false;
        long index = 0;
        void CloseKey()
        {
            if (currentLength >= 0 && seen != declared)
                Add($"a key's count entry says {declared} values, found {seen}");
        }
        try
        {
            for (bool ok = path.First(ctx, desc); ok; ok = path.Next(ctx), index++)
            {
                var leaf = path.Leaf(ctx, out int i);
                var key = leaf.KeyAt(i);
                var value = leaf.ValueAt(i, ctx);
                switch (MultiKey.Parse(key, out int escaped, out _))
                {
                    case MultiKey.Kind.Header:
                        header = true;
                        if (index != 0) Add("the header entry is not the first entry");
                        if (value.Length != MultiKey.HeaderValueSize) Add($"page {leaf.Id}: the header's value is {value.Length} bytes, expected {MultiKey.HeaderValueSize}");
                        else MultiKey.ReadHeader(value, out headerKeys, out headerValues);
                        break;
                    case MultiKey.Kind.Count:
                        CloseKey();
                        keys++;
                        if (currentKey.Length < escaped) currentKey = new byte[Math.Max(escaped, 2 * currentKey.Length)];
                        key[..escaped].CopyTo(currentKey);
                        currentLength = escaped;
                        seen = 0;
                        declared = value.Length == MultiKey.CountValueSize ? MultiKey.ReadCount(value) : -1;
                        if (declared < 1) Add($"page {leaf.Id} slot {i}: a count entry's value is {value.Length} bytes or below 1");
                        break;
                    case MultiKey.Kind.Value:
                        values++;
                        if (currentLength != escaped || !key[..escaped].SequenceEqual(currentKey.AsSpan(0, currentLength)))
                            Add($"page {leaf.Id} slot {i}: a value entry has no count entry for its key");
                        else seen++;
                        if (!value.IsEmpty) Add($"page {leaf.Id} slot {i}: a value entry's value is {value.Length} bytes, expected 0");
                        break;
                    default:
                        Add($"page {leaf.Id} slot {i}: the key is not a multimap key encoding");
                        break;
                }
            }
        }
        catch (CorruptDatabaseException e)
        {
            Add(e.Message);
            return;
        }
        CloseKey();
        if (!header) Add("a non-empty multimap tree has no header entry");
        else if (headerKeys != keys || headerValues != values)
            Add($"the header says {headerKeys} keys and {headerValues} values, found {keys} and {values}");
    }
}
