using System.Collections;
using MmapKv.BTree;

namespace MmapKv;

/// <summary>
/// The entries of a key range as copies, for LINQ and for code that keeps them: each entry is a
/// <see cref="KeyValuePair{TKey, TValue}"/> of a new key array and a new value array. Made by
/// <see cref="KvScan.AsEnumerable"/>, e.g. <c>tx.ScanPrefix(p).AsEnumerable().ToList()</c>; the range, its order and
/// its rules are the scan's (see <see cref="KvScan"/>). Lazy: it reads the tree when enumerated, may be enumerated
/// more than once, throws <see cref="ObjectDisposedException"/> once the transaction has ended, and an enumeration
/// interrupted by a write in its transaction throws <see cref="InvalidOperationException"/> at its next step (a
/// <c>ToList()</c> finished before the write is unaffected).
/// </summary>
public sealed class KvEntries : IEnumerable<KeyValuePair<byte[], byte[]>>
{
    private readonly KvTransaction _tx;
    private readonly TreeState _tree;
    private readonly long _generation;
    private readonly byte[] _from;
    private readonly byte[] _to;
    private readonly byte[] _prefix;
    private readonly bool _reverse;

    internal KvEntries(KvTransaction tx, TreeState tree, long generation, byte[] from, byte[] to, byte[] prefix, bool reverse)
    {
        _tx = tx;
        _tree = tree;
        _generation = generation;
        _from = from;
        _to = to;
        _prefix = prefix;
        _reverse = reverse;
    }

    /// <summary>Whether the entries come in descending key order.</summary>
    public bool IsReversed => _reverse;

    /// <summary>The same range in the opposite order, read from the tree in that order (unlike LINQ's
    /// <c>Enumerable.Reverse</c>, which would buffer every entry first).</summary>
    public KvEntries Reverse() => new(_tx, _tree, _generation, _from, _to, _prefix, !_reverse);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<byte[], byte[]>> GetEnumerator() => new Enumerator(this);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private sealed class Enumerator(KvEntries entries) : IEnumerator<KeyValuePair<byte[], byte[]>>
    {
        private ScanCursor _cursor = new(entries._tx, entries._tree, entries._generation);

        public KeyValuePair<byte[], byte[]> Current { get; private set; }

        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (!_cursor.Move(entries._from, entries._to, entries._prefix, entries._reverse, out var key, out var value))
            {
                Current = default;
                return false;
            }
            Current = new KeyValuePair<byte[], byte[]>(key.ToArray(), value.ToArray());
            return true;
        }

        public void Reset()
        {
            _cursor.Restart();
            Current = default;
        }

        public void Dispose() { }
    }
}
