using System.Buffers;
using System.Buffers.Binary;

namespace MmapKv;

/// <summary>
/// <see cref="long"/> as 8 bytes, big-endian with the sign bit flipped, so the bytes sort in numeric order
/// (<see cref="long.MinValue"/> is <c>00 … 00</c>, -1 is <c>7F FF … FF</c>, 0 is <c>80 00 … 00</c>). The same
/// encoding serves keys and values. Get it from <see cref="KvCodec.Int64"/>.
/// </summary>
public sealed class Int64Codec : IKeyCodec<long>, IValueCodec<long>
{
    /// <summary>The encoded length.</summary>
    public const int Size = sizeof(long);

    private const ulong SignBit = 1UL << 63;

    internal static readonly Int64Codec Instance = new();

    private Int64Codec() { }

    /// <inheritdoc/>
    public bool TryEncode(long key, Span<byte> destination, out int bytesWritten)
    {
        if (destination.Length < Size)
        {
            bytesWritten = 0;
            return false;
        }
        BinaryPrimitives.WriteUInt64BigEndian(destination, (ulong)key ^ SignBit);
        bytesWritten = Size;
        return true;
    }

    /// <inheritdoc/>
    public void Encode(long value, IBufferWriter<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination.GetSpan(Size), (ulong)value ^ SignBit);
        destination.Advance(Size);
    }

    /// <inheritdoc/>
    public long Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length != Size) CodecErrors.ThrowWrongLength("An Int64", Size, source.Length);
        return (long)(BinaryPrimitives.ReadUInt64BigEndian(source) ^ SignBit);
    }
}
