namespace MmapKv.FreeSpace;

/// <summary>
/// A set of free page ids kept in order, so single pages come from the low end of the file (keeping it dense) and
/// contiguous runs for overflow values can be found. Add, remove and take-one are O(log n).
/// </summary>
internal sealed class FreePageSet
{
    private readonly SortedSet<long> _ids = new();

    public int Count => _ids.Count;

    public void Add(long id) => _ids.Add(id);

    public void AddRun(long start, long length)
    {
        for (long i = 0; i < length; i++) _ids.Add(start + i);
    }

    public bool Contains(long id) => _ids.Contains(id);

    public bool TryTakeOne(out long id)
    {
        if (_ids.Count == 0) { id = 0; return false; }
        id = _ids.Min;
        _ids.Remove(id);
        return true;
    }

    /// <summary>
    /// Takes the lowest run of <paramref name="length"/> consecutive ids, from the start of a free run.
    /// O(n) in the set size; only overflow values and the free-map directory need runs.
    /// </summary>
    public bool TryTakeRun(long length, out long start)
    {
        if (length == 1) return TryTakeOne(out start);
        long runStart = -1, prev = -2;
        foreach (long id in _ids)
        {
            if (id != prev + 1) runStart = id;
            prev = id;
            if (id - runStart + 1 == length)
            {
                start = runStart;
                for (long i = 0; i < length; i++) _ids.Remove(runStart + i);
                return true;
            }
        }
        start = 0;
        return false;
    }

    public void Clear() => _ids.Clear();

    /// <summary>Removes every id at or above <paramref name="limit"/> (pages beyond a rolled-back high-water mark).</summary>
    public void RemoveFrom(long limit) => _ids.RemoveWhere(id => id >= limit);

    public IEnumerable<long> Ids => _ids;
}
