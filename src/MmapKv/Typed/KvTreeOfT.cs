using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace MmapKv;

/// <summary>
/// A typed view of a named tree: keys of type <typeparamref name="TKey"/> and values of type
/// <typeparamref name="TValue"/>, turned into the tree's bytes by an <see cref="IKeyCodec{T}"/> and an
/// <see cref="IValueCodec{T}"/>. Open one with <c>tx.OpenTree&lt;TKey, TValue&gt;(name)</c> (built-in codecs) or
/// <c>tx.OpenTree(name, keyCodec, valueCodec)</c> (<see cref="TypedTreeExtensions"/>).
/// </summary>
/// <remarks>
/// <para>It is a thin layer over <see cref="KvTree"/> (<see cref="Untyped"/>) and has its lifetime and errors: valid
/// while its transaction is open, <see cref="ObjectDisposedException"/> after, and
/// <see cref="InvalidOperationException"/> for a write through a tree of a read transaction. Nothing is stored about
/// the types: the codecs must be those the tree was written with, or reads give <see cref="KvDecodeException"/>.</para>
/// <para>Keys are encoded on the stack (a pooled buffer past 256 bytes) and values into a pooled per-thread buffer, so
/// lookups of fixed-size types allocate nothing, nor do their puts after a thread's first; decoding allocates only what
/// the type itself needs (a <see cref="string"/>, a JSON object). Decoded values are copies: unlike the byte API's spans they stay valid after
/// the transaction ends. Entries are enumerated in the order of their encoded keys (see each codec).</para>
/// </remarks>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class KvTree<TKey, TValue>
{
    /// <summary>Keys up to this many bytes are encoded on the stack.</summary>
    internal const int StackKeyBytes = 256;

    private readonly KvTree _tree;
    private readonly IKeyCodec<TKey> _keyCodec;
    private readonly IValueCodec<TValue> _valueCodec;
    private readonly int _maxKeySize;
    private readonly bool _readOnly;

    internal KvTree(KvTree tree, IKeyCodec<TKey> keyCodec, IValueCodec<TValue> valueCodec, int maxKeySize, bool readOnly)
    {
        _tree = tree;
        _keyCodec = keyCodec;
        _valueCodec = valueCodec;
        _maxKeySize = maxKeySize;
        _readOnly = readOnly;
    }

    /// <summary>The tree's name.</summary>
    public string Name => _tree.Name;

    /// <summary>The byte-level handle of the same tree in the same transaction.</summary>
    public KvTree Untyped => _tree;

    /// <summary>The key codec.</summary>
    public IKeyCodec<TKey> KeyCodec => _keyCodec;

    /// <summary>The value codec.</summary>
    public IValueCodec<TValue> ValueCodec => _valueCodec;

    /// <inheritdoc cref="KvTree.Count"/>
    public long Count => _tree.Count;

    /// <summary>Looks up <paramref name="key"/>.</summary>
    /// <returns>Whether the key exists.</returns>
    /// <exception cref="ArgumentException">The key cannot be encoded, encodes to no bytes, or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="KvDecodeException">The stored value is not an encoding of the value codec.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    [SkipLocalsInit]
    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        Span<byte> stack = stackalloc byte[StackKeyBytes];
        if (!_keyCodec.TryEncode(key, stack, out int length)) return TryGetPooled(key, out value);
        if (!_tree.TryGet(stack[..length], out var raw))
        {
            value = default;
            return false;
        }
        value = DecodeValue(raw, length);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryGetPooled(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        byte[] rented = RentAndEncode(key, out int length);
        try
        {
            if (!_tree.TryGet(rented.AsSpan(0, length), out var raw))
            {
                value = default;
                return false;
            }
            value = DecodeValue(raw, length);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The value of <paramref name="key"/>, as <see cref="TryGet"/> finds it; setting it is <see cref="Put"/>.</summary>
    /// <exception cref="KeyNotFoundException">Get: the key does not exist.</exception>
    /// <exception cref="ArgumentException">The key cannot be encoded, encodes to no bytes, or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="KvDecodeException">Get: the stored value is not an encoding of the value codec.</exception>
    /// <exception cref="InvalidOperationException">Set: the tree was opened in a read transaction.</exception>
    public TValue this[TKey key]
    {
        get => TryGet(key, out var value) ? value : ThrowKeyNotFound();
        set => Put(key, value);
    }

    /// <summary>The value of <paramref name="key"/>, or <paramref name="defaultValue"/> if it does not exist.</summary>
    /// <inheritdoc cref="TryGet" path="/exception"/>
    [return: NotNullIfNotNull(nameof(defaultValue))]
    public TValue? GetValueOrDefault(TKey key, TValue? defaultValue = default) =>
        TryGet(key, out var value) ? value : defaultValue;

    /// <summary>Whether <paramref name="key"/> exists. Reads no value and decodes nothing.</summary>
    /// <exception cref="ArgumentException">The key cannot be encoded, encodes to no bytes, or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    [SkipLocalsInit]
    public bool ContainsKey(TKey key)
    {
        Span<byte> stack = stackalloc byte[StackKeyBytes];
        byte[]? rented = null;
        try
        {
            return _tree.TryGet(EncodeKey(key, stack, ref rented), out _);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Inserts or overwrites <paramref name="key"/>.</summary>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key or value cannot be encoded, or the key encodes to no bytes or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="DatabaseFullException">The file could not grow. The transaction is aborted.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    [SkipLocalsInit]
    public void Put(TKey key, TValue value)
    {
        Span<byte> stack = stackalloc byte[StackKeyBytes];
        byte[]? rented = null;
        var buffer = ValueBuffer.Rent();
        try
        {
            var encodedKey = EncodeKey(key, stack, ref rented);
            _valueCodec.Encode(value, buffer);
            _tree.Put(encodedKey, buffer.WrittenSpan);
        }
        finally
        {
            ValueBuffer.Return(buffer);
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Inserts <paramref name="key"/> if it does not exist; an existing entry is left as it is.</summary>
    /// <returns>True if the entry was added, false if the key already existed.</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <inheritdoc cref="Put" path="/exception"/>
    public bool TryAdd(TKey key, TValue value)
    {
        // One writer per database and one thread per transaction (L3), so nothing can insert the key between the
        // lookup and the put.
        if (_readOnly) ThrowReadOnly();
        if (ContainsKey(key)) return false;
        Put(key, value);
        return true;
    }

    /// <summary>Deletes <paramref name="key"/> (the byte API's <see cref="KvTree.Delete"/>).</summary>
    /// <returns>Whether the key existed.</returns>
    /// <exception cref="InvalidOperationException">The tree was opened in a read transaction.</exception>
    /// <exception cref="ArgumentException">The key cannot be encoded, encodes to no bytes, or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    /// <exception cref="ObjectDisposedException">The transaction has ended.</exception>
    [SkipLocalsInit]
    public bool Delete(TKey key)
    {
        Span<byte> stack = stackalloc byte[StackKeyBytes];
        byte[]? rented = null;
        try
        {
            return _tree.Delete(EncodeKey(key, stack, ref rented));
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Every entry, in key order. Enumerating allocates a cursor and the decoded keys and values.</summary>
    public KvRange<TKey, TValue> GetAll() => new(this, null, null);

    /// <summary>The entries whose keys are at or after <paramref name="from"/>, in key order.</summary>
    /// <exception cref="ArgumentException">The key cannot be encoded, encodes to no bytes, or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    public KvRange<TKey, TValue> GetFrom(TKey from) => new(this, EncodeKeyToArray(from), null);

    /// <summary>
    /// The entries whose keys are at or after <paramref name="from"/> and before <paramref name="to"/> (a half-open
    /// range, like <c>from..to</c>), in key order; empty if <paramref name="to"/> is not after <paramref name="from"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A key cannot be encoded, encodes to no bytes, or to more than <see cref="KvDatabase.MaxKeySize"/>.</exception>
    public KvRange<TKey, TValue> GetRange(TKey from, TKey to) => new(this, EncodeKeyToArray(from), EncodeKeyToArray(to));

    /// <summary>The enumerator of <see cref="GetAll"/>, so <c>foreach (var (key, value) in tree)</c> walks every entry.</summary>
    public KvRange<TKey, TValue>.Enumerator GetEnumerator() => GetAll().GetEnumerator();

    /// <summary>Encodes a key into <paramref name="stack"/>, or into a pooled array the caller returns if it does not fit.</summary>
    private ReadOnlySpan<byte> EncodeKey(TKey key, Span<byte> stack, ref byte[]? rented)
    {
        if (_keyCodec.TryEncode(key, stack, out int length)) return stack[..length];
        rented = RentAndEncode(key, out length);
        return rented.AsSpan(0, length);
    }

    /// <summary>Encodes a key longer than the stack buffer into an array from the pool; the caller returns it.</summary>
    private byte[] RentAndEncode(TKey key, out int length)
    {
        // Room for one byte more than the limit: a key that still does not fit is too long, whatever its exact length.
        // The pool may hand out a larger array: encode into exactly that many bytes, so the limit is the database's.
        var rented = ArrayPool<byte>.Shared.Rent(_maxKeySize + 1);
        if (_keyCodec.TryEncode(key, rented.AsSpan(0, _maxKeySize + 1), out length)) return rented;
        ArrayPool<byte>.Shared.Return(rented);
        throw new ArgumentException(
            $"The key encodes to more than {_maxKeySize} bytes, the most this database allows (tree '{Name}').", nameof(key));
    }

    private byte[] EncodeKeyToArray(TKey key)
    {
        Span<byte> stack = stackalloc byte[StackKeyBytes];
        byte[]? rented = null;
        try
        {
            var encoded = EncodeKey(key, stack, ref rented);
            if (encoded.IsEmpty || encoded.Length > _maxKeySize)
                throw new ArgumentException(encoded.IsEmpty
                    ? "The key encodes to no bytes; a key must not be empty."
                    : $"The key is {encoded.Length} bytes; the most this database allows is {_maxKeySize}.", nameof(key));
            return encoded.ToArray();
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    internal TValue DecodeValue(ReadOnlySpan<byte> raw, int keyLength)
    {
        try
        {
            return _valueCodec.Decode(raw);
        }
        catch (Exception e) when (IsCodecError(e))
        {
            throw DecodeError($"the value of {raw.Length} bytes stored under a key of {keyLength} bytes", keyLength, _valueCodec, e);
        }
    }

    internal TKey DecodeKey(ReadOnlySpan<byte> raw)
    {
        try
        {
            return _keyCodec.Decode(raw);
        }
        catch (Exception e) when (IsCodecError(e))
        {
            throw DecodeError($"a stored key of {raw.Length} bytes", raw.Length, _keyCodec, e);
        }
    }

    /// <summary>What a codec throws for bytes it cannot read (the documented FormatException and JsonException, and
    /// what decoders commonly throw besides); anything else, such as running out of memory, passes through as it is.</summary>
    private static bool IsCodecError(Exception e) =>
        e is FormatException or JsonException or ArgumentException or (InvalidOperationException and not ObjectDisposedException)
            or NotSupportedException or OverflowException or IndexOutOfRangeException;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private KvDecodeException DecodeError(string what, int keyLength, object codec, Exception inner) => new(
        $"Tree '{Name}': {what} could not be decoded by {codec.GetType().Name}. Was the tree written with another " +
        $"type or codec? {inner.Message}", inner)
    {
        TreeName = Name,
        KeyLength = keyLength,
    };

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private TValue ThrowKeyNotFound() => throw new KeyNotFoundException($"The tree '{Name}' has no entry with this key.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowReadOnly() =>
        throw new InvalidOperationException("This tree was opened in a read transaction; writes need a write transaction.");
}
