using System.Collections;

namespace MmapKv;

/// <summary>
/// A range of a <see cref="KvTree{TKey, TValue}"/>'s entries in key order, from
/// <see cref="KvTree{TKey, TValue}.GetAll"/>, <see cref="KvTree{TKey, TValue}.GetFrom"/> or
/// <see cref="KvTree{TKey, TValue}.GetRange"/>. Enumerate it with <c>foreach</c>; each enumeration opens its own
/// <see cref="KvCursor"/> and disposes it at the end.
/// </summary>
/// <remarks>
/// The bounds are compared as encoded bytes, so the order is that of the key codec's encoding. In a write
/// transaction the cursor keeps its place across writes (see <see cref="KvCursor"/>): entries put after the current
/// one and inside the range are seen, deleted ones are not. Enumerating allocates the cursor and the decoded keys and
/// values, nothing per entry besides.
/// </remarks>
public readonly struct KvRange<TKey, TValue> : IEnumerable<KeyValuePair<TKey, TValue>>
{
    private readonly KvTree<TKey, TValue> _tree;
    private readonly byte[]? _from; // inclusive; null: from the first key
    private readonly byte[]? _to; // exclusive; null: to the last key

    internal KvRange(KvTree<TKey, TValue> tree, byte[]? from, byte[]? to)
    {
        _tree = tree;
        _from = from;
        _to = to;
    }

    /// <summary>Starts an enumeration.</summary>
    public Enumerator GetEnumerator() => new(_tree ?? throw new InvalidOperationException("This KvRange is a default value; get one from a KvTree<TKey, TValue>."), _from, _to);

    IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Walks a <see cref="KvRange{TKey, TValue}"/> with a cursor, decoding each entry.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<TKey, TValue>>
    {
        private readonly KvTree<TKey, TValue> _tree;
        private readonly byte[]? _from;
        private readonly byte[]? _to;
        private KvCursor? _cursor;
        private bool _done;

        internal Enumerator(KvTree<TKey, TValue> tree, byte[]? from, byte[]? to)
        {
            _tree = tree;
            _from = from;
            _to = to;
        }

        /// <summary>The current entry, decoded.</summary>
        public KeyValuePair<TKey, TValue> Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        /// <summary>Moves to the next entry of the range.</summary>
        /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
        /// <exception cref="KvDecodeException">A stored key or value is not an encoding of the tree's codecs.</exception>
        public bool MoveNext()
        {
            if (_done) return false;
            bool ok;
            if (_cursor is null)
            {
                _cursor = _tree.Untyped.OpenCursor();
                ok = _from is null ? _cursor.First() : _cursor.Seek(_from);
            }
            else
            {
                ok = _cursor.Next();
            }
            var key = ok ? _cursor.Key : default;
            if (!ok || (_to is not null && key.SequenceCompareTo(_to) >= 0))
            {
                Finish();
                return false;
            }
            Current = new KeyValuePair<TKey, TValue>(_tree.DecodeKey(key), _tree.DecodeValue(_cursor.Value, key.Length));
            return true;
        }

        /// <summary>Ends the enumeration and disposes its cursor.</summary>
        public void Dispose() => Finish();

        /// <summary>Not supported: start a new enumeration instead.</summary>
        /// <exception cref="NotSupportedException">Always.</exception>
        public readonly void Reset() => throw new NotSupportedException("Start a new enumeration instead.");

        private void Finish()
        {
            _done = true;
            _cursor?.Dispose();
            _cursor = null;
            Current = default;
        }
    }
}
