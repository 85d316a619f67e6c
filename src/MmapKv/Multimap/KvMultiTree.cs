using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Format;

namespace MmapKv;

/// <summary>
/// A named multimap tree inside one transaction: each key holds a sorted set of values (bytewise order, no
/// duplicates), like LMDB's sorted duplicates. Open one with <c>OpenMultiTree</c> (<see cref="MultiTreeExtensions"/>).
/// It is valid while its transaction is open and throws <see cref="ObjectDisposedException"/> after; writes through
/// a tree of a read transaction throw <see cref="InvalidOperationException"/>.
/// </summary>
/// <remarks>
/// <para>Every (key, value) pair is its own entry of an ordinary B+tree, under a composite key that sorts exactly
/// as the pairs do (docs/format.md §5.1), and each key has one count entry just before its values. So a key's
/// values are one range of the tree, <see cref="Count(ReadOnlySpan{byte})"/> is one lookup however many values the
/// key has, and no entry grows with the set: a million values under one key are a million small entries spread
/// over leaves.</para>
/// <para>Limit: a pair fits when the key's length, plus one per 0x00 byte in the key, plus 2, plus the value's
/// length is at most <see cref="KvDatabase.MaxKeySize"/> (see <see cref="MaxValueLength"/>). Keys are not empty;
/// values may be.</para>
/// </remarks>
public sealed class KvMultiTree
{
    /// <summary>Composite keys up to this size are built on the stack; longer ones in a rented array.</summary>
    private const int StackBytes = 1024;

    private readonly KvTransaction _tx;
    private readonly TreeState _state;
    private readonly long _generation;
    private readonly KvTree _tree; // the byte view the multimap is written through; it does the transaction checks

    internal KvMultiTree(KvTransaction tx, TreeState state, long generation)
    {
        _tx = tx;
        _state = state;
        _generation = generation;
        _tree = new KvTree(tx, state, generation);
    }

    /// <summary>The tree's name.</summary>
    public string Name => _state.Name!;

    private int MaxKeySize => _tx.Db.MaxKeySize;

    /// <summary>The longest value <paramref name="key"/> can hold: <see cref="KvDatabase.MaxKeySize"/> minus the
    /// key's length, its 0x00 bytes, and 2; negative when the key itself is too long.</summary>
    /// <exception cref="ArgumentException">The key is empty.</exception>
    public int MaxValueLength(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty) ThrowEmptyKey();
        return MaxKeySize - MultiKey.EscapedLength(key) - MultiKey.TerminatorSize;
    }

    /// <summary>Number of keys that hold at least one value, as of this transaction.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public long KeyCount
    {
        get
        {
            ReadHeader(out long keys, out _);
            return keys;
        }
    }

    /// <summary>Number of (key, value) pairs, as of this transaction.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public long ValueCount
    {
        get
        {
            ReadHeader(out _, out long values);
            return values;
        }
    }

    /// <summary>Number of values <paramref name="key"/> holds (0 if none): one lookup, however many there are.</summary>
    /// <exception cref="ArgumentException">The key is empty or too long to hold any value.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public long Count(ReadOnlySpan<byte> key)
    {
        int need = Need(key, 0);
        byte[]? rented = null;
        Span<byte> buf = need <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try { return ReadCount(buf[..MultiKey.WritePrefix(key, MultiKey.CountTag, buf)]); }
        finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); }
    }

    /// <summary>Whether <paramref name="key"/> holds <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">The key is empty, or the pair is too long (see <see cref="MaxValueLength"/>).</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool Contains(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int need = Need(key, value.Length);
        byte[]? rented = null;
        Span<byte> buf = need <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try { return _tree.TryGet(buf[..MultiKey.WriteValueKey(key, value, buf)], out _); }
        finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); }
    }

    /// <summary>Adds <paramref name="value"/> to the set of <paramref name="key"/>.</summary>
    /// <returns>Whether it was added (false: the key already held the value, and nothing changed).</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key is empty, or the pair is too long (see <see cref="MaxValueLength"/>).</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int need = Need(key, value.Length);
        RequireWritable();
        byte[]? rented = null;
        Span<byte> buf = need <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try
        {
            if (!_tree.Put(buf[..MultiKey.WriteValueKey(key, value, buf)], default, PutMode.InsertOnly)) return false;
            var countKey = buf[..MultiKey.WritePrefix(key, MultiKey.CountTag, buf)];
            long count = ReadCount(countKey);
            WriteCount(countKey, count + 1);
            UpdateHeader(count == 0 ? 1 : 0, 1);
            return true;
        }
        finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); }
    }

    /// <summary>Removes <paramref name="value"/> from the set of <paramref name="key"/>; a key left with no value is gone.</summary>
    /// <returns>Whether it was there.</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key is empty, or the pair is too long (see <see cref="MaxValueLength"/>).</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public bool Remove(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int need = Need(key, value.Length);
        RequireWritable();
        byte[]? rented = null;
        Span<byte> buf = need <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try
        {
            if (!_tree.Delete(buf[..MultiKey.WriteValueKey(key, value, buf)])) return false;
            var countKey = buf[..MultiKey.WritePrefix(key, MultiKey.CountTag, buf)];
            long count = ReadCount(countKey);
            if (count <= 1) _tree.Delete(countKey);
            else WriteCount(countKey, count - 1);
            UpdateHeader(count <= 1 ? -1 : 0, -1);
            return true;
        }
        finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); }
    }

    /// <summary>Removes every value of <paramref name="key"/>, and so the key.</summary>
    /// <returns>The number of values removed (0 if the key held none).</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key is empty or too long to hold any value.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public long RemoveAll(ReadOnlySpan<byte> key)
    {
        Need(key, 0);
        RequireWritable();
        int max = MaxKeySize;
        byte[]? rented = null;
        // Two halves: the value prefix E(k) 00 01, then room for one whole entry key (at most MaxKeySize bytes).
        Span<byte> buf = 2 * max <= 2 * StackBytes ? stackalloc byte[2 * StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(2 * max));
        try
        {
            var countKey = buf[..MultiKey.WritePrefix(key, MultiKey.CountTag, buf)];
            if (ReadCount(countKey) == 0) return 0;
            _tree.Delete(countKey);
            var prefix = buf[..MultiKey.WritePrefix(key, MultiKey.ValueTag, buf)];
            var entry = buf.Slice(max, max);
            long removed = 0;
            while (true)
            {
                // A scan does not survive a write, so each value is found by a fresh seek to the key's first value.
                int n = 0;
                foreach (var e in _tree.ScanPrefix(prefix))
                {
                    e.Key.CopyTo(entry);
                    n = e.Key.Length;
                    break;
                }
                if (n == 0) break;
                _tree.Delete(entry[..n]);
                removed++;
            }
            UpdateHeader(-1, -removed);
            return removed;
        }
        finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); }
    }

    /// <summary>The values of <paramref name="key"/>, ascending (<see cref="KvMultiValues.Reverse"/> for
    /// descending). One seek, then a walk along the leaves; allocates nothing.</summary>
    /// <exception cref="ArgumentException">The key is empty or too long to hold any value.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvMultiValues Values(ReadOnlySpan<byte> key)
    {
        Need(key, 0);
        using (_tx.Use(_generation)) _tx.ThrowIfEnded(_state);
        return new KvMultiValues(this, key, reverse: false);
    }

    /// <summary>Every (key, value) pair, in order of key and then value (<see cref="KvMultiScan.Reverse"/> for
    /// descending). Allocates nothing, except one pooled buffer, for the walk, if a key holds a 0x00 byte.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvMultiScan Scan()
    {
        using (_tx.Use(_generation)) _tx.ThrowIfEnded(_state);
        return new KvMultiScan(this, reverse: false);
    }

    internal ScanCursor NewCursor() => new(_tx, _state, _generation);

    /// <summary>The composite key length a pair needs; throws when the key is empty or the pair does not fit.</summary>
    internal int Need(ReadOnlySpan<byte> key, int valueLength)
    {
        if (key.IsEmpty) ThrowEmptyKey();
        int need = MultiKey.EscapedLength(key) + MultiKey.TerminatorSize + valueLength;
        if (need > MaxKeySize) ThrowTooLong(key.Length, valueLength, need);
        return need;
    }

    private void RequireWritable()
    {
        if (_tx is not WriteState) ThrowReadOnly();
    }

    private long ReadCount(ReadOnlySpan<byte> countKey)
    {
        if (!_tree.TryGet(countKey, out var value)) return 0;
        if (value.Length != MultiKey.CountValueSize || MultiKey.ReadCount(value) < 1)
            Corrupt.Throw($"multimap tree '{Name}': a count entry is {value.Length} bytes or below 1 (docs/format.md §5.1)");
        return MultiKey.ReadCount(value);
    }

    private void WriteCount(ReadOnlySpan<byte> countKey, long count)
    {
        Span<byte> value = stackalloc byte[MultiKey.CountValueSize];
        MultiKey.WriteCount(value, count);
        _tree.Put(countKey, value);
    }

    private void ReadHeader(out long keys, out long values)
    {
        if (!_tree.TryGet(MultiKey.HeaderKey, out var value)) { keys = values = 0; return; }
        if (value.Length != MultiKey.HeaderValueSize)
            Corrupt.Throw($"multimap tree '{Name}': the header entry is {value.Length} bytes, expected {MultiKey.HeaderValueSize} (docs/format.md §5.1)");
        MultiKey.ReadHeader(value, out keys, out values);
    }

    /// <summary>Adds to the header's counts; an empty multimap has no header, so it is an empty tree.</summary>
    private void UpdateHeader(long keyDelta, long valueDelta)
    {
        ReadHeader(out long keys, out long values);
        keys += keyDelta;
        values += valueDelta;
        if (keys <= 0 && values <= 0)
        {
            _tree.Delete(MultiKey.HeaderKey);
            return;
        }
        Span<byte> value = stackalloc byte[MultiKey.HeaderValueSize];
        MultiKey.WriteHeader(value, keys, values);
        _tree.Put(MultiKey.HeaderKey, value);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowEmptyKey() => throw new ArgumentException("A multimap key must not be empty.", "key");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowTooLong(int keyLength, int valueLength, int need) => throw new ArgumentException(
        $"A key of {keyLength} bytes with a value of {valueLength} bytes needs a composite key of {need} bytes (the key, " +
        $"one more per 0x00 byte in it, 2, and the value); the most this database allows is {MaxKeySize} (MaxKeySize).");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowReadOnly() =>
        throw new InvalidOperationException("This multimap tree was opened in a read transaction; writes need a write transaction.");
}
