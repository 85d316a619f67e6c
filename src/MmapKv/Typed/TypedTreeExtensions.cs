using System.Diagnostics.CodeAnalysis;

namespace MmapKv;

/// <summary>
/// Opens typed views of named trees (<see cref="KvTree{TKey, TValue}"/>) in write and read transactions:
/// <c>tx.OpenTree&lt;string, long&gt;("counters")</c> with the built-in codecs of <see cref="KvCodec"/>, or
/// <c>tx.OpenTree("settings", KvCodec.String, KvCodec.Json(MyContext.Default.Settings))</c> with chosen ones.
/// </summary>
/// <remarks>
/// The typed view stores nothing about the types: opening a tree with other codecs than it was written with
/// succeeds, and reads then give <see cref="KvDecodeException"/>. Opening has the byte API's rules: in a write
/// transaction a missing tree is created; in a read transaction it is a <see cref="KeyNotFoundException"/>.
/// </remarks>
public static class TypedTreeExtensions
{
    /// <summary>Opens (creating it if missing) the named tree with the built-in codecs for its key and value types.</summary>
    /// <exception cref="NotSupportedException">A type has no built-in codec (see <see cref="KvCodec.KeyCodecFor{T}"/>).</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvTree<TKey, TValue> OpenTree<TKey, TValue>(this WriteTransaction tx, string name) =>
        OpenTree(tx, name, KvCodec.KeyCodecFor<TKey>(), KvCodec.ValueCodecFor<TValue>());

    /// <summary>Opens (creating it if missing) the named tree with the given codecs.</summary>
    /// <exception cref="ArgumentNullException">A codec is null.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvTree<TKey, TValue> OpenTree<TKey, TValue>(this WriteTransaction tx, string name,
        IKeyCodec<TKey> keyCodec, IValueCodec<TValue> valueCodec)
    {
        ArgumentNullException.ThrowIfNull(keyCodec);
        ArgumentNullException.ThrowIfNull(valueCodec);
        return new(tx.OpenTree(name), keyCodec, valueCodec, tx.Db.MaxKeySize, readOnly: false);
    }

    /// <summary>Opens the named tree with the given codecs if it exists (also if it was created in this transaction).</summary>
    /// <exception cref="ArgumentNullException">A codec is null.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool TryOpenTree<TKey, TValue>(this WriteTransaction tx, string name,
        IKeyCodec<TKey> keyCodec, IValueCodec<TValue> valueCodec, [NotNullWhen(true)] out KvTree<TKey, TValue>? tree)
    {
        ArgumentNullException.ThrowIfNull(keyCodec);
        ArgumentNullException.ThrowIfNull(valueCodec);
        tree = tx.TryOpenTree(name, out var raw) ? new(raw, keyCodec, valueCodec, tx.Db.MaxKeySize, readOnly: false) : null;
        return tree is not null;
    }

    /// <summary>Opens an existing named tree with the built-in codecs for its key and value types.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    /// <exception cref="NotSupportedException">A type has no built-in codec (see <see cref="KvCodec.KeyCodecFor{T}"/>).</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvTree<TKey, TValue> OpenTree<TKey, TValue>(this ReadTransaction tx, string name) =>
        OpenTree(tx, name, KvCodec.KeyCodecFor<TKey>(), KvCodec.ValueCodecFor<TValue>());

    /// <summary>Opens an existing named tree with the given codecs.</summary>
    /// <exception cref="KeyNotFoundException">No tree has that name in this snapshot.</exception>
    /// <exception cref="ArgumentNullException">A codec is null.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static KvTree<TKey, TValue> OpenTree<TKey, TValue>(this ReadTransaction tx, string name,
        IKeyCodec<TKey> keyCodec, IValueCodec<TValue> valueCodec)
    {
        ArgumentNullException.ThrowIfNull(keyCodec);
        ArgumentNullException.ThrowIfNull(valueCodec);
        return new(tx.OpenTree(name), keyCodec, valueCodec, tx.Db.MaxKeySize, readOnly: true);
    }

    /// <summary>Opens the named tree with the given codecs if it exists in this snapshot.</summary>
    /// <exception cref="ArgumentNullException">A codec is null.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    public static bool TryOpenTree<TKey, TValue>(this ReadTransaction tx, string name,
        IKeyCodec<TKey> keyCodec, IValueCodec<TValue> valueCodec, [NotNullWhen(true)] out KvTree<TKey, TValue>? tree)
    {
        ArgumentNullException.ThrowIfNull(keyCodec);
        ArgumentNullException.ThrowIfNull(valueCodec);
        tree = tx.TryOpenTree(name, out var raw) ? new(raw, keyCodec, valueCodec, tx.Db.MaxKeySize, readOnly: true) : null;
        return tree is not null;
    }
}
