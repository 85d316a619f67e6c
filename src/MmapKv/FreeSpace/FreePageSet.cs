using System.Numerics;

namespace MmapKv.FreeSpace;

/// <summary>
/// A set of free page ids kept in order, so single pages come from the low end of the file (keeping it dense) and
/// contiguous runs for overflow values can be found.
/// </summary>
/// <remarks>
/// A bitmap over page ids, not a sorted tree: adding, removing and testing a page allocate nothing and cost one
/// word, where a tree allocated a node for every page freed and so made every commit (and every put that shadows a
/// page) produce garbage. The bitmap grows only with the file (ids are below the page count) and is cleared only
/// over the words that may hold a bit. Taking the lowest page scans from a low-water word, which moves up as pages
/// are taken and down only when a lower page is added.
/// </remarks>
internal sealed class FreePageSet
{
    private ulong[] _words = [];
    private int _count;
    private int _low;  // no bit is set in a word below this
    private int _high; // no bit is set in a word at or above this

    public int Count => _count;

    public void Add(long id)
    {
        int w = (int)(id >> 6);
        if (w >= _words.Length) Grow(w);
        ulong bit = 1UL << (int)(id & 63);
        if ((_words[w] & bit) != 0) return;
        _words[w] |= bit;
        _count++;
        if (_count == 1) { _low = w; _high = w + 1; return; }
        if (w < _low) _low = w;
        if (w >= _high) _high = w + 1;
    }

    private void Grow(int word)
    {
        var bigger = new ulong[Math.Max(word + 1, Math.Max(64, _words.Length * 2))];
        _words.AsSpan().CopyTo(bigger);
        _words = bigger;
    }

    public void AddRun(long start, long length)
    {
        for (long i = 0; i < length; i++) Add(start + i);
    }

    public bool Contains(long id)
    {
        long w = id >> 6;
        return (ulong)w < (ulong)_words.Length && (_words[w] & (1UL << (int)(id & 63))) != 0;
    }

    /// <summary>Removes <paramref name="id"/> if present.</summary>
    public void TryRemove(long id)
    {
        if (Contains(id)) Remove(id);
    }

    private void Remove(long id)
    {
        _words[id >> 6] &= ~(1UL << (int)(id & 63));
        _count--;
    }

    public bool TryTakeOne(out long id)
    {
        if (_count == 0) { id = 0; return false; }
        while (_words[_low] == 0) _low++; // a bit is set somewhere in [_low, _high)
        id = ((long)_low << 6) + BitOperations.TrailingZeroCount(_words[_low]);
        Remove(id);
        return true;
    }

    /// <summary>
    /// Takes the lowest run of <paramref name="length"/> consecutive ids, from the start of a free run.
    /// O(n) in the ids covered; only overflow values and the free-map directory need runs.
    /// </summary>
    public bool TryTakeRun(long length, out long start)
    {
        if (length == 1) return TryTakeOne(out start);
        long runStart = -1, prev = -2;
        foreach (long id in Ids)
        {
            if (id != prev + 1) runStart = id;
            prev = id;
            if (id - runStart + 1 == length)
            {
                start = runStart;
                for (long i = 0; i < length; i++) Remove(runStart + i);
                return true;
            }
        }
        start = 0;
        return false;
    }

    public void Clear()
    {
        if (_count > 0) _words.AsSpan(_low, _high - _low).Clear();
        _count = 0;
        _low = _high = 0;
    }

    /// <summary>Removes every id at or above <paramref name="limit"/> (pages beyond a rolled-back high-water mark).</summary>
    public void RemoveFrom(long limit)
    {
        for (int w = (int)Math.Min(limit >> 6, _high); w < _high; w++)
        {
            ulong keep = w == limit >> 6 ? (1UL << (int)(limit & 63)) - 1 : 0;
            _count -= BitOperations.PopCount(_words[w] & ~keep);
            _words[w] &= keep;
        }
        if (_count == 0) _low = _high = 0;
    }

    /// <summary>The ids in ascending order. The set must not change during the enumeration.</summary>
    public IdEnumerable Ids => new(this);

    /// <summary>A struct enumerable, so a foreach over the ids allocates nothing.</summary>
    internal readonly struct IdEnumerable(FreePageSet set)
    {
        public IdEnumerator GetEnumerator() => new(set);
    }

    internal struct IdEnumerator
    {
        private readonly ulong[] _words;
        private readonly int _high;
        private int _word;
        private ulong _bits;

        public IdEnumerator(FreePageSet set)
        {
            _words = set._words;
            _high = set._count == 0 ? 0 : set._high;
            _word = set._low - 1;
            _bits = 0;
        }

        public long Current { get; private set; }

        public bool MoveNext()
        {
            while (_bits == 0)
            {
                if (++_word >= _high) return false;
                _bits = _words[_word];
            }
            Current = ((long)_word << 6) + BitOperations.TrailingZeroCount(_bits);
            _bits &= _bits - 1;
            return true;
        }
    }
}
