using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Pages;

namespace MmapKv;

/// <summary>
/// Walks a tree in key order. Movement methods return whether the cursor now points at an entry; after one
/// returns false the cursor is unpositioned until a <see cref="First"/>, <see cref="Last"/> or <see cref="Seek"/>.
/// Moves allocate nothing.
/// </summary>
/// <remarks>
/// <see cref="Key"/> and <see cref="Value"/> point into the memory map and stay valid until the cursor moves, the
/// transaction ends, or (in a write transaction) the next write. A cursor in a write transaction keeps its place
/// across writes: it finds its key again, and if that key was deleted, <see cref="Next"/> goes to the entry after it
/// and <see cref="Prev"/> to the entry before it.
/// </remarks>
public sealed class KvCursor : IDisposable
{
    private readonly KvTransaction _tx;
    private readonly TreeState _tree;
    private readonly long _generation; // the use of _tx this cursor belongs to (a read transaction's state is reused)
    private TreePath _path; // held inline: the cursor object is its one allocation (two for a write transaction's, with the saved key)
    private long _version;
    private bool _disposed;
    private readonly byte[]? _savedKey; // write transactions only: the current key, to find the place again
    private int _savedKeyLength;
    private bool _hasSaved;

    internal KvCursor(KvTransaction tx, TreeState tree, long generation)
    {
        _tx = tx;
        _tree = tree;
        _generation = generation;
        _version = tx.Version;
        if (!tx.IsReadOnly) _savedKey = new byte[tx.Db.MaxKeySize];
    }

    /// <summary>Whether the cursor points at an entry.</summary>
    public bool IsPositioned => !_disposed && !_tx.IsEnded(_generation) && _path.IsValid && !IsStale;

    /// <summary>Moves to the smallest key.</summary>
    public bool First()
    {
        using var use = _tx.Use(_generation);
        ThrowIfUnusable();
        return Moved(_path.First(_tx.Context, _tree.Desc));
    }

    /// <summary>Moves to the largest key.</summary>
    public bool Last()
    {
        using var use = _tx.Use(_generation);
        ThrowIfUnusable();
        return Moved(_path.Last(_tx.Context, _tree.Desc));
    }

    /// <summary>Moves to the first key that is greater than or equal to <paramref name="key"/>.</summary>
    public bool Seek(ReadOnlySpan<byte> key)
    {
        _tx.CheckKey(_tree, key);
        using var use = _tx.Use(_generation);
        ThrowIfUnusable();
        return Moved(_path.Seek(_tx.Context, _tree.Desc, key, out _));
    }

    /// <summary>Moves to the next key. Returns false at the end.</summary>
    public bool Next()
    {
        using var use = _tx.Use(_generation);
        ThrowIfUnusable();
        if (IsStale)
        {
            if (!_hasSaved) return Moved(false);
            if (!Refind(out bool exact)) return Moved(false);
            if (!exact) return Moved(true); // the old key is gone; its successor is the next entry
        }
        return Moved(_path.Next(_tx.Context));
    }

    /// <summary>Moves to the previous key. Returns false at the start.</summary>
    public bool Prev()
    {
        using var use = _tx.Use(_generation);
        ThrowIfUnusable();
        if (IsStale)
        {
            if (!_hasSaved) return Moved(false);
            if (!Refind(out _)) return Moved(_path.Last(_tx.Context, _tree.Desc)); // nothing at or after the old key
        }
        return Moved(_path.Prev(_tx.Context));
    }

    /// <summary>The current key.</summary>
    /// <exception cref="InvalidOperationException">The cursor is not positioned, or its entry was deleted.</exception>
    public ReadOnlySpan<byte> Key
    {
        get
        {
            using var use = _tx.Use(_generation);
            var leaf = Current(out int i);
            var key = leaf.KeyAt(i);
            return _tx.Guard is null ? key : _tx.Guard.Copy(key);
        }
    }

    /// <summary>The current value.</summary>
    /// <exception cref="InvalidOperationException">The cursor is not positioned, or its entry was deleted.</exception>
    public ReadOnlySpan<byte> Value
    {
        get
        {
            using var use = _tx.Use(_generation);
            var leaf = Current(out int i);
            var value = leaf.ValueAt(i, _tx.Context);
            return _tx.Guard is null ? value : _tx.Guard.Copy(value);
        }
    }

    /// <summary>A write in this transaction may have moved entries since the cursor last moved.</summary>
    private bool IsStale => _savedKey is not null && _version != _tx.Version;

    private Node Current(out int index)
    {
        ThrowIfUnusable();
        if (IsStale)
        {
            if (!_hasSaved || !Refind(out bool exact) || !exact) ThrowNotPositioned();
            _version = _tx.Version; // back exactly on the saved key
        }
        if (!_path.IsValid) ThrowNotPositioned();
        return _path.Leaf(out index);
    }

    /// <summary>Seeks back to the saved key after a write. Idempotent: it leaves the cursor stale until a move.</summary>
    private bool Refind(out bool exact) =>
        _path.Seek(_tx.Context, _tree.Desc, _savedKey.AsSpan(0, _savedKeyLength), out exact);

    private bool Moved(bool ok)
    {
        _version = _tx.Version;
        _hasSaved = ok && _savedKey is not null;
        if (_hasSaved)
        {
            var key = _path.Leaf(out int i).KeyAt(i);
            if (key.Length > _savedKey!.Length) Corrupt.Throw(_path.Leaf(out _).Id, $"a key of {key.Length} bytes exceeds the key size limit");
            key.CopyTo(_savedKey);
            _savedKeyLength = key.Length;
        }
        if (!ok) _path.Reset();
        return ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfUnusable()
    {
        if (_disposed) ThrowDisposed();
        _tx.ThrowIfEnded(_tree);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(KvCursor));

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNotPositioned() => throw new InvalidOperationException("The cursor is not positioned on an entry.");

    /// <summary>Releases the cursor. Cursors hold no locks; disposing is optional but keeps intent clear.</summary>
    public void Dispose() => _disposed = true;
}
