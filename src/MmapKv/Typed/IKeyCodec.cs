namespace MmapKv;

/// <summary>
/// Turns keys of type <typeparamref name="T"/> into the bytes a tree stores and back, for a
/// <see cref="KvTree{TKey, TValue}"/>. A tree orders keys bytewise (shorter first on a common prefix), so the
/// encoding decides the order of a typed range: a codec whose bytes sort like its values (the built-in integer,
/// <see cref="Guid"/> and <see cref="DateTime"/> codecs do) gives ranges in value order.
/// </summary>
/// <remarks>
/// Keys are short (at most <see cref="KvDatabase.MaxKeySize"/> bytes), so they are encoded into a span the caller
/// provides, usually on the stack: a lookup with a fixed-size key allocates nothing. An implementation must be
/// deterministic (equal keys give equal bytes) and safe to call from several threads at once.
/// </remarks>
/// <typeparam name="T">The key type.</typeparam>
public interface IKeyCodec<T>
{
    /// <summary>Writes the encoding of <paramref name="key"/> to the start of <paramref name="destination"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="destination">Where to write.</param>
    /// <param name="bytesWritten">The length of the encoding, when it fit.</param>
    /// <returns>False if <paramref name="destination"/> is too small; the caller retries with a larger one.</returns>
    /// <exception cref="ArgumentException">The key cannot be encoded (for example a string with a lone surrogate).</exception>
    bool TryEncode(T key, Span<byte> destination, out int bytesWritten);

    /// <summary>Reads a key from exactly the bytes of <paramref name="source"/>.</summary>
    /// <exception cref="FormatException">The bytes are not an encoding of this codec (for example the wrong length).</exception>
    T Decode(ReadOnlySpan<byte> source);
}
