using MmapKv.BTree;

namespace MmapKv;

/// <summary>
/// A handle to a named tree inside one transaction. It is valid while its transaction is open; writes through a
/// handle from a read transaction throw <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class KvTree
{
    private readonly KvTransaction _tx;
    private readonly TreeState _state;

    internal KvTree(KvTransaction tx, TreeState state)
    {
        _tx = tx;
        _state = state;
    }

    /// <summary>The tree's name.</summary>
    public string Name => _state.Name!;

    /// <summary>Number of entries, as of this transaction.</summary>
    public long Count
    {
        get
        {
            using var use = _tx.Use();
            _tx.ThrowIfEnded(_state);
            return _state.Desc.Entries;
        }
    }

    /// <inheritdoc cref="KvTransaction.TryGet(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value) => _tx.TryGet(_state, key, out value);

    /// <inheritdoc cref="WriteTransaction.Put(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Writer.Put(_state, key, value);

    /// <inheritdoc cref="WriteTransaction.Delete(ReadOnlySpan{byte})"/>
    public bool Delete(ReadOnlySpan<byte> key) => Writer.Delete(_state, key);

    /// <summary>Opens a cursor over this tree.</summary>
    public KvCursor OpenCursor() => _tx.OpenCursor(_state);

    private WriteTransaction Writer => _tx as WriteTransaction
        ?? throw new InvalidOperationException("This tree was opened in a read transaction; writes need a write transaction.");
}
