using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.Format;

namespace MmapKv;

/// <summary>
/// Every (key, value) pair of a <see cref="KvMultiTree"/>, ordered by key and then value (descending after
/// <see cref="Reverse"/>). The rules are those of <see cref="KvScan"/>. Nothing is allocated: values, and keys
/// without a 0x00 byte, point into the map; a key with a 0x00 byte is decoded into one buffer from
/// <see cref="ArrayPool{T}.Shared"/>, taken on first need and returned when <c>foreach</c> disposes the enumerator,
/// so its <see cref="KvEntry.Key"/> is valid only until the next step.
/// </summary>
public readonly ref struct KvMultiScan
{
    private readonly KvMultiTree? _tree;
    private readonly bool _reverse;

    internal KvMultiScan(KvMultiTree tree, bool reverse)
    {
        _tree = tree;
        _reverse = reverse;
    }

    /// <summary>Whether this scan runs in descending order.</summary>
    public bool IsReversed => _reverse;

    /// <summary>The same pairs in the opposite order. Allocates nothing.</summary>
    public KvMultiScan Reverse() => new(Tree, !_reverse);

    /// <summary>Returns the enumerator <c>foreach</c> uses.</summary>
    public Enumerator GetEnumerator() => new(Tree, _reverse);

    private KvMultiTree Tree
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _tree ?? ThrowDefault();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static KvMultiTree ThrowDefault() =>
        throw new InvalidOperationException("This KvMultiScan is a default value; get one from KvMultiTree.Scan.");

    /// <summary>Walks a <see cref="KvMultiScan"/>; dispose it (as <c>foreach</c> does) to return its key buffer.</summary>
    public ref struct Enumerator
    {
        private ScanCursor _cursor;
        private readonly KvMultiTree _tree;
        private readonly bool _reverse;
        private byte[]? _decoded;
        private ReadOnlySpan<byte> _key;
        private ReadOnlySpan<byte> _value;

        internal Enumerator(KvMultiTree tree, bool reverse)
        {
            _cursor = tree.NewCursor();
            _tree = tree;
            _reverse = reverse;
        }

        /// <summary>The current pair.</summary>
        public readonly KvEntry Current => new(_key, _value);

        /// <summary>Moves to the next pair; false past the last. Count entries and the header are skipped.</summary>
        /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
        /// <exception cref="InvalidOperationException">The transaction was written to since the scan started; or
        /// another thread is using the transaction.</exception>
        /// <exception cref="CorruptDatabaseException">A page on the way is damaged, or an entry is not a multimap key.</exception>
        public bool MoveNext()
        {
            while (_cursor.Move(default, default, default, _reverse, out var entry, out _))
            {
                var kind = MultiKey.Parse(entry, out int escaped, out bool hasZero);
                if (kind == MultiKey.Kind.Invalid)
                    Corrupt.Throw($"multimap tree '{_tree.Name}': an entry key of {entry.Length} bytes is not a multimap key (docs/format.md §5.1)");
                if (kind != MultiKey.Kind.Value) continue;
                if (hasZero)
                {
                    _decoded ??= ArrayPool<byte>.Shared.Rent(escaped);
                    if (_decoded.Length < escaped)
                    {
                        ArrayPool<byte>.Shared.Return(_decoded);
                        _decoded = ArrayPool<byte>.Shared.Rent(escaped);
                    }
                    _key = _decoded.AsSpan(0, MultiKey.Unescape(entry[..escaped], _decoded));
                }
                else _key = entry[..escaped];
                _value = entry[(escaped + MultiKey.TerminatorSize)..];
                return true;
            }
            _key = _value = default;
            return false;
        }

        /// <summary>Returns the key buffer, if one was taken.</summary>
        public void Dispose()
        {
            if (_decoded is null) return;
            ArrayPool<byte>.Shared.Return(_decoded);
            _decoded = null;
        }
    }
}
