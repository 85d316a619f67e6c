using System.Buffers;

namespace MmapKv;

/// <summary>
/// Turns values of type <typeparamref name="T"/> into the bytes a tree stores and back, for a
/// <see cref="KvTree{TKey, TValue}"/>.
/// </summary>
/// <remarks>
/// Values may be large and their length is not always known before they are written (JSON), so they are written to
/// an <see cref="IBufferWriter{T}"/>. The typed tree passes a pooled, reused buffer: a fixed-size codec that asks
/// for its exact size with <see cref="IBufferWriter{T}.GetSpan(int)"/> allocates nothing. An implementation must
/// be safe to call from several threads at once.
/// </remarks>
/// <typeparam name="T">The value type.</typeparam>
public interface IValueCodec<T>
{
    /// <summary>Writes the encoding of <paramref name="value"/> to <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The value cannot be encoded.</exception>
    void Encode(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a value from exactly the bytes of <paramref name="source"/>.</summary>
    /// <exception cref="FormatException">The bytes are not an encoding of this codec (for example the wrong length).</exception>
    T Decode(ReadOnlySpan<byte> source);
}
