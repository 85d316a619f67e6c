using System.Buffers;

namespace MmapKv;

/// <summary>
/// <see cref="Guid"/> as 16 bytes in big-endian (RFC 9562 network) order: the bytes of the hex digits of
/// <see cref="Guid.ToString()"/>, left to right. Bytewise order of the encodings is exactly the order of
/// <see cref="Guid.CompareTo(Guid)"/> (which compares its fields as unsigned numbers, first to last), and so also
/// the order of the string form; version 7 GUIDs (<see cref="Guid.CreateVersion7()"/>) sort by creation time.
/// (<see cref="Guid.ToByteArray()"/>'s little-endian order would not sort that way.) The same encoding serves keys and
/// values. Get it from <see cref="KvCodec.Guid"/>.
/// </summary>
public sealed class GuidCodec : IKeyCodec<Guid>, IValueCodec<Guid>
{
    /// <summary>The encoded length.</summary>
    public const int Size = 16;

    internal static readonly GuidCodec Instance = new();

    private GuidCodec() { }

    /// <inheritdoc/>
    public bool TryEncode(Guid key, Span<byte> destination, out int bytesWritten) =>
        key.TryWriteBytes(destination, bigEndian: true, out bytesWritten);

    /// <inheritdoc/>
    public void Encode(Guid value, IBufferWriter<byte> destination)
    {
        value.TryWriteBytes(destination.GetSpan(Size), bigEndian: true, out _);
        destination.Advance(Size);
    }

    /// <inheritdoc/>
    public Guid Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length != Size) CodecErrors.ThrowWrongLength("A Guid", Size, source.Length);
        return new Guid(source, bigEndian: true);
    }
}
