using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.BTree;

namespace MmapKv;

/// <summary>
/// The moving part of a scan, shared by the span enumerator (<see cref="KvScan.Enumerator"/>) and the copying one
/// (<see cref="KvEntries"/>): a <see cref="TreePath"/> held inline and the transaction use it belongs to. Every move
/// first passes the transaction's checks (<see cref="KvTransaction.Use(long)"/>, then
/// <see cref="KvTransaction.ThrowIfEnded(TreeState)"/>), so a scan of an ended transaction throws
/// <see cref="ObjectDisposedException"/> before it reads a page (L5, W4); and it refuses to go on after a write in
/// its transaction, which may have moved or freed the pages its path points into.
/// </summary>
/// <remarks>A mutable struct holding about 500 bytes of path: kept in a field that is not readonly, never copied while in use.</remarks>
internal struct ScanCursor
{
    private readonly KvTransaction _tx;
    private readonly TreeState _tree;
    private readonly long _generation;
    private TreePath _path;
    private long _version;
    private bool _started;
    private bool _done;

    public ScanCursor(KvTransaction tx, TreeState tree, long generation)
    {
        _tx = tx;
        _tree = tree;
        _generation = generation;
    }

    /// <summary>Moves to the next entry of the range, or the first on the first call; false past its end.</summary>
    /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
    /// <exception cref="InvalidOperationException">The transaction was written to since the scan started, or the tree was deleted.</exception>
    public bool Move(scoped ReadOnlySpan<byte> from, scoped ReadOnlySpan<byte> to, scoped ReadOnlySpan<byte> prefix, bool reverse,
        out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        using var use = _tx.Use(_generation);
        _tx.ThrowIfEnded(_tree);
        key = value = default;
        if (_done) return false;
        var ctx = _tx.Context;
        bool ok;
        if (!_started)
        {
            _started = true;
            _version = _tx.Version;
            ok = RangeWalk.Start(ref _path, ctx, _tree.Desc, from, to, prefix, reverse);
        }
        else
        {
            if (_tx.Version != _version) ThrowWritten();
            ok = RangeWalk.Step(ref _path, ctx, from, to, prefix, reverse);
        }
        if (!ok)
        {
            _done = true;
            return false;
        }
        var leaf = _path.Leaf(out int i);
        key = leaf.KeyAt(i);
        value = leaf.ValueAt(i, ctx);
        _tx.Guard?.Copy(ref key, ref value);
        return true;
    }

    /// <summary>Starts over: the next <see cref="Move"/> positions at the range's first entry again.</summary>
    public void Restart()
    {
        _started = false;
        _done = false;
        _path.Reset();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowWritten() => throw new InvalidOperationException(
        "The transaction was written to during the scan, which may have moved the entries it walks. Finish the scan " +
        "first (for example copy it with AsEnumerable().ToList()), or walk with a KvCursor, which keeps its place across writes.");
}
