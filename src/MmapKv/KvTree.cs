using System.Buffers;
using MmapKv.BTree;

namespace MmapKv;

/// <summary>
/// A handle to a named tree inside one transaction. It is valid while its transaction is open, and throws
/// <see cref="ObjectDisposedException"/> after; writes through a handle from a read transaction throw
/// <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class KvTree
{
    private readonly KvTransaction _tx;
    private readonly TreeState _state;
    private readonly long _generation; // the use of _tx this handle belongs to (a read transaction's state is reused)

    internal KvTree(KvTransaction tx, TreeState state, long generation = 0)
    {
        _tx = tx;
        _state = state;
        _generation = generation;
    }

    /// <summary>The tree's name.</summary>
    public string Name => _state.Name!;

    /// <summary>How the tree orders its keys, fixed when it was created.</summary>
    public KeyOrder KeyOrder => _state.Desc.KeyOrder;

    /// <summary>Number of entries, as of this transaction.</summary>
    public long Count
    {
        get
        {
            using var use = _tx.Use(_generation);
            _tx.ThrowIfEnded(_state);
            return _state.Desc.Entries;
        }
    }

    /// <inheritdoc cref="ReadTransaction.TryGet(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value) => _tx.TryGet(_generation, _state, key, out value);

    /// <inheritdoc cref="ReadTransaction.TryGet(ReadOnlySpan{byte}, Span{byte}, out int)"/>
    public bool TryGet(ReadOnlySpan<byte> key, Span<byte> destination, out int written) =>
        _tx.TryGet(_generation, _state, key, destination, out written);

    /// <inheritdoc cref="ReadTransaction.TryGet(ReadOnlySpan{byte}, IBufferWriter{byte})"/>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> writer) => _tx.TryGet(_generation, _state, key, writer);

    /// <inheritdoc cref="ReadTransaction.Get(ReadOnlySpan{byte})"/>
    public byte[]? Get(ReadOnlySpan<byte> key) => _tx.Get(_generation, _state, key);

    /// <summary>Every entry of this tree, in key order; <see cref="KvScan.Reverse"/> for descending. Allocates
    /// nothing (see <see cref="KvScan"/>).</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvScan Scan() => _tx.Scan(_generation, _state, default, default);

    /// <summary>The entries of this tree with <paramref name="from"/> &lt;= key &lt; <paramref name="to"/>; an empty
    /// bound is open. As <see cref="ReadTransaction.Scan(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> for the default tree.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvScan Scan(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to) => _tx.Scan(_generation, _state, from, to);

    /// <summary>The entries of this tree whose keys start with <paramref name="prefix"/> (the empty prefix: all).
    /// As <see cref="ReadTransaction.ScanPrefix(ReadOnlySpan{byte})"/> for the default tree.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public KvScan ScanPrefix(ReadOnlySpan<byte> prefix) => _tx.ScanPrefix(_generation, _state, prefix);

    /// <inheritdoc cref="WriteTransaction.Put(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Writer.Put(_generation, _state, key, value);

    /// <summary>Writes <paramref name="key"/> in this tree as <paramref name="mode"/> says; see
    /// <see cref="WriteTransaction.Put(ReadOnlySpan{byte}, ReadOnlySpan{byte}, PutMode)"/>.</summary>
    /// <returns>Whether it wrote.</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a <see cref="PutMode"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    public bool Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, PutMode mode) => Writer.Put(_generation, _state, key, value, mode);

    /// <summary>Inserts <paramref name="key"/> into this tree if it is not there; an existing key keeps its value.
    /// See <see cref="WriteTransaction.TryAdd(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>.</summary>
    /// <returns>Whether it inserted.</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    public bool TryAdd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Writer.Put(_generation, _state, key, value, PutMode.InsertOnly);

    /// <summary>
    /// Inserts or overwrites <paramref name="key"/> in this tree with a value of <paramref name="length"/> bytes, and
    /// returns those bytes for the caller to fill in place. The span's lifetime and the errors are those of
    /// <see cref="WriteTransaction.Reserve(ReadOnlySpan{byte}, int)"/>: valid until the next write to the
    /// transaction, its commit or its abort; contents unspecified until filled.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key is empty or longer than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    public Span<byte> Reserve(ReadOnlySpan<byte> key, int length) => Writer.Reserve(_generation, _state, key, length);

    /// <inheritdoc cref="WriteTransaction.Delete(ReadOnlySpan{byte})"/>
    public bool Delete(ReadOnlySpan<byte> key) => Writer.Delete(_generation, _state, key);

    /// <summary>Opens a cursor over this tree.</summary>
    public KvCursor OpenCursor() => _tx.OpenCursor(_generation, _state);

    private WriteState Writer => _tx as WriteState
        ?? throw new InvalidOperationException("This tree was opened in a read transaction; writes need a write transaction.");
}
