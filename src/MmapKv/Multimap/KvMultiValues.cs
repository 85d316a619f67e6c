using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MmapKv.Format;

namespace MmapKv;

/// <summary>
/// The values of one key of a <see cref="KvMultiTree"/>, ascending (or descending after <see cref="Reverse"/>), for
/// <c>foreach (var value in tree.Values(key))</c>. Nothing is allocated and nothing copied: each value points into
/// the memory map. The rules are those of <see cref="KvScan"/>: lazy, valid only while the transaction is open
/// (<see cref="ObjectDisposedException"/> after), and in a write transaction a write during the enumeration makes
/// its next step throw <see cref="InvalidOperationException"/>.
/// </summary>
/// <remarks>The key span is the caller's and must stay unchanged while the enumeration runs; the enumerator holds a
/// tree path inline, so it lives on the stack.</remarks>
public readonly ref struct KvMultiValues
{
    private readonly KvMultiTree? _tree;
    private readonly ReadOnlySpan<byte> _key;
    private readonly bool _reverse;

    internal KvMultiValues(KvMultiTree tree, ReadOnlySpan<byte> key, bool reverse)
    {
        _tree = tree;
        _key = key;
        _reverse = reverse;
    }

    /// <summary>Whether this enumeration runs in descending order.</summary>
    public bool IsReversed => _reverse;

    /// <summary>The same values in the opposite order. Allocates nothing.</summary>
    public KvMultiValues Reverse() => new(Tree, _key, !_reverse);

    /// <summary>Returns the enumerator <c>foreach</c> uses.</summary>
    public Enumerator GetEnumerator() => new(Tree, _key, _reverse);

    private KvMultiTree Tree
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _tree ?? ThrowDefault();
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static KvMultiTree ThrowDefault() =>
        throw new InvalidOperationException("This KvMultiValues is a default value; get one from KvMultiTree.Values.");

    /// <summary>Walks a <see cref="KvMultiValues"/>. Each <see cref="MoveNext"/> checks the transaction first.</summary>
    public ref struct Enumerator
    {
        private ScanCursor _cursor;
        private readonly KvMultiTree _tree;
        private readonly ReadOnlySpan<byte> _key;
        private readonly bool _reverse;
        private ReadOnlySpan<byte> _bound; // E(k) 00 01 inside the last entry reached, in the map
        private ReadOnlySpan<byte> _current;

        internal Enumerator(KvMultiTree tree, ReadOnlySpan<byte> key, bool reverse)
        {
            _cursor = tree.NewCursor();
            _tree = tree;
            _key = key;
            _reverse = reverse;
        }

        /// <summary>The current value; it points into the map (valid as a <see cref="KvEntry"/>'s spans are).</summary>
        public readonly ReadOnlySpan<byte> Current => _current;

        /// <summary>Moves to the next value; false past the last.</summary>
        /// <exception cref="ObjectDisposedException">The transaction has ended, or the database was disposed.</exception>
        /// <exception cref="InvalidOperationException">The transaction was written to since the enumeration
        /// started; or another thread is using the transaction.</exception>
        /// <exception cref="CorruptDatabaseException">A page on the way is damaged.</exception>
        public bool MoveNext()
        {
            bool ok;
            ReadOnlySpan<byte> entry;
            if (_bound.IsEmpty)
            {
                // The first step seeks with the prefix built here; the later ones compare with the same bytes in the
                // entry already reached, which stays where it is while the scan is valid (no write, transaction open).
                int need = _tree.Need(_key, 0);
                byte[]? rented = null;
                Span<byte> prefix = need <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(need));
                try
                {
                    int n = MultiKey.WritePrefix(_key, MultiKey.ValueTag, prefix);
                    ok = _cursor.Move(default, default, prefix[..n], _reverse, out entry, out _);
                    if (ok) _bound = entry[..n];
                }
                finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); }
            }
            else ok = _cursor.Move(default, default, _bound, _reverse, out entry, out _);
            if (!ok)
            {
                _current = default;
                return false;
            }
            _bound = entry[.._bound.Length];
            _current = entry[_bound.Length..];
            return true;
        }
    }
}
