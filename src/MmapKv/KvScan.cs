using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;

namespace MmapKv;

/// <summary>
/// The entries of a key range of one tree, in key order (or descending after <see cref="Reverse"/>), for
/// <c>foreach</c>: <c>foreach (var e in tx.Scan(from, to)) Use(e.Key, e.Value);</c>. Nothing is allocated and
/// nothing copied; each entry's spans point into the memory map. Made by <c>Scan</c> and <c>ScanPrefix</c> of
/// <see cref="ReadTransaction"/>, <see cref="KvTransaction"/> (so <see cref="WriteTransaction"/>) and
/// <see cref="KvTree"/>.
/// </summary>
/// <remarks>
/// <para>A range is <c>[from, to)</c>: <c>from</c> inclusive, <c>to</c> exclusive, and an empty span means open at
/// that end (keys are never empty). A bound need not be a valid key: any length is allowed. A prefix scan holds the
/// keys that start with the prefix; the empty prefix holds every key. Keys compare bytewise, shorter first on a
/// common prefix.</para>
/// <para>The scan is lazy: it reads the tree when enumerated, as the transaction sees it then (a write transaction's
/// own uncommitted writes included), and may be enumerated more than once. After the transaction ends, enumerating
/// throws <see cref="ObjectDisposedException"/>. In a write transaction, a write (to any tree) during an enumeration
/// makes its next step throw <see cref="InvalidOperationException"/>, as a .NET collection modified during
/// <c>foreach</c> does; to write while walking, use a <see cref="KvCursor"/>, or copy the entries first with
/// <see cref="AsEnumerable"/>.</para>
/// <para>The enumerator holds the tree path inline (about half a kilobyte), so it lives on the stack; it cannot be
/// stored in a field or used across <c>await</c>. For that, or for LINQ, use <see cref="AsEnumerable"/>.</para>
/// </remarks>
public readonly ref struct KvScan
{
    private readonly KvTransaction? _tx;
    private readonly TreeState? _tree;
    private readonly long _generation;
    private readonly ReadOnlySpan<byte> _from;
    private readonly ReadOnlySpan<byte> _to;
    private readonly ReadOnlySpan<byte> _prefix;
    private readonly bool _reverse;

    internal KvScan(KvTransaction tx, TreeState tree, long generation, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to,
        ReadOnlySpan<byte> prefix, bool reverse)
    {
        _tx = tx;
        _tree = tree;
        _generation = generation;
        _from = from;
        _to = to;
        _prefix = prefix;
        _reverse = reverse;
    }

    /// <summary>Whether this scan runs in descending key order.</summary>
    public bool IsReversed => _reverse;

    /// <summary>The same range in the opposite order: descending, from the last entry of the range to its first
    /// (or ascending again for a reversed scan). Allocates nothing.</summary>
    public KvScan Reverse() => new(Tx, _tree!, _generation, _from, _to, _prefix, !_reverse);

    /// <summary>Returns the enumerator <c>foreach</c> uses.</summary>
    public Enumerator GetEnumerator() => new(Tx, _tree!, _generation, _from, _to, _prefix, _reverse);

    /// <summary>
    /// The same range as a lazy <see cref="IEnumerable{T}"/> of copied entries, for LINQ, <c>ToList()</c>, fields
    /// and <c>await</c>: each entry is a new key array and value array (the bounds are copied once, here). It reads
    /// the tree when enumerated, with the same rules as the scan: valid only while the transaction is open, and a
    /// write during an enumeration makes its next step throw.
    /// </summary>
    public KvEntries AsEnumerable() => new(Tx, _tree!, _generation, _from.ToArray(), _to.ToArray(), _prefix.ToArray(), _reverse);

    private KvTransaction Tx
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _tx ?? ThrowDefault();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static KvTransaction ThrowDefault() =>
        throw new InvalidOperationException("This KvScan is a default value; get one from Scan or ScanPrefix of a transaction or tree.");

    /// <summary>Walks a <see cref="KvScan"/>. Each <see cref="MoveNext"/> checks the transaction first.</summary>
    public ref struct Enumerator
    {
        private ScanCursor _cursor;
        private readonly ReadOnlySpan<byte> _from;
        private readonly ReadOnlySpan<byte> _to;
        private readonly ReadOnlySpan<byte> _prefix;
        private readonly bool _reverse;
        private ReadOnlySpan<byte> _key;
        private ReadOnlySpan<byte> _value;

        internal Enumerator(KvTransaction tx, TreeState tree, long generation, ReadOnlySpan<byte> from,
            ReadOnlySpan<byte> to, ReadOnlySpan<byte> prefix, bool reverse)
        {
            _cursor = new ScanCursor(tx, tree, generation);
            _from = from;
            _to = to;
            _prefix = prefix;
            _reverse = reverse;
        }

        /// <summary>The current entry; its spans point into the map (see <see cref="KvEntry"/>).</summary>
        public readonly KvEntry Current => new(_key, _value);

        /// <summary>Moves to the next entry of the range; false past its end.</summary>
        /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
        /// <exception cref="InvalidOperationException">The transaction was written to since the enumeration
        /// started; the tree was deleted; or another thread is using the transaction.</exception>
        /// <exception cref="CorruptDatabaseException">A page on the way is damaged.</exception>
        public bool MoveNext() => _cursor.Move(_from, _to, _prefix, _reverse, out _key, out _value);
    }
}
