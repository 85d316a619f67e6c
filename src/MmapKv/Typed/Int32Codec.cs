using System.Buffers;
using System.Buffers.Binary;

namespace MmapKv;

/// <summary>
/// <see cref="int"/> as 4 bytes, big-endian with the sign bit flipped, so the bytes sort in numeric order
/// (<see cref="int.MinValue"/> is <c>00 00 00 00</c>, -1 is <c>7F FF FF FF</c>, 0 is <c>80 00 00 00</c>). The same
/// encoding serves keys and values. Get it from <see cref="KvCodec.Int32"/>.
/// </summary>
public sealed class Int32Codec : IKeyCodec<int>, IValueCodec<int>
{
    /// <summary>The encoded length.</summary>
    public const int Size = sizeof(int);

    internal static readonly Int32Codec Instance = new();

    private Int32Codec() { }

    /// <inheritdoc/>
    public bool TryEncode(int key, Span<byte> destination, out int bytesWritten)
    {
        if (destination.Length < Size)
        {
            bytesWritten = 0;
            return false;
        }
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)key ^ 0x8000_0000u);
        bytesWritten = Size;
        return true;
    }

    /// <inheritdoc/>
    public void Encode(int value, IBufferWriter<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination.GetSpan(Size), (uint)value ^ 0x8000_0000u);
        destination.Advance(Size);
    }

    /// <inheritdoc/>
    public int Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length != Size) CodecErrors.ThrowWrongLength("An Int32", Size, source.Length);
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(source) ^ 0x8000_0000u);
    }
}
