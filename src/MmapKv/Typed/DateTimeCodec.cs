using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MmapKv;

/// <summary>
/// <see cref="DateTime"/> as its UTC <see cref="DateTime.Ticks"/>, 8 bytes big-endian (ticks are never negative),
/// so the bytes sort in time order. The same encoding serves keys and values. Get it from
/// <see cref="KvCodec.DateTime"/>.
/// </summary>
/// <remarks>
/// Only the instant is stored, never the <see cref="DateTime.Kind"/>: a <see cref="DateTimeKind.Utc"/> value is
/// stored as it is, a <see cref="DateTimeKind.Local"/> one is converted with <see cref="DateTime.ToUniversalTime"/>,
/// and an <see cref="DateTimeKind.Unspecified"/> one is refused with <see cref="ArgumentException"/>, because
/// whether it meant UTC or local time would be a guess (and a wrong guess moves it by hours in the key order). Use
/// <see cref="DateTime.SpecifyKind(DateTime, DateTimeKind)"/> to say which. Decoding always gives a
/// <see cref="DateTimeKind.Utc"/> value, so a local time comes back as the same instant in UTC.
/// </remarks>
public sealed class DateTimeCodec : IKeyCodec<DateTime>, IValueCodec<DateTime>
{
    /// <summary>The encoded length.</summary>
    public const int Size = sizeof(long);

    internal static readonly DateTimeCodec Instance = new();

    private DateTimeCodec() { }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The key's <see cref="DateTime.Kind"/> is <see cref="DateTimeKind.Unspecified"/>.</exception>
    public bool TryEncode(DateTime key, Span<byte> destination, out int bytesWritten)
    {
        if (destination.Length < Size)
        {
            bytesWritten = 0;
            return false;
        }
        BinaryPrimitives.WriteUInt64BigEndian(destination, UtcTicks(key, nameof(key)));
        bytesWritten = Size;
        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The value's <see cref="DateTime.Kind"/> is <see cref="DateTimeKind.Unspecified"/>.</exception>
    public void Encode(DateTime value, IBufferWriter<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination.GetSpan(Size), UtcTicks(value, nameof(value)));
        destination.Advance(Size);
    }

    /// <inheritdoc/>
    public DateTime Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length != Size) CodecErrors.ThrowWrongLength("A DateTime", Size, source.Length);
        ulong ticks = BinaryPrimitives.ReadUInt64BigEndian(source);
        if (ticks > (ulong)System.DateTime.MaxValue.Ticks) ThrowTicksOutOfRange(ticks);
        return new DateTime((long)ticks, DateTimeKind.Utc);
    }

    private static ulong UtcTicks(DateTime time, string paramName) => time.Kind switch
    {
        DateTimeKind.Utc => (ulong)time.Ticks,
        DateTimeKind.Local => (ulong)time.ToUniversalTime().Ticks,
        _ => ThrowUnspecified(paramName),
    };

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong ThrowUnspecified(string paramName) => throw new ArgumentException(
        "The DateTime's Kind is Unspecified, so it is not known which instant it means; give it DateTimeKind.Utc or " +
        "DateTimeKind.Local (DateTime.SpecifyKind), and the codec stores the instant in UTC.", paramName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTicksOutOfRange(ulong ticks) =>
        throw new FormatException($"{ticks} ticks is past DateTime.MaxValue ({System.DateTime.MaxValue.Ticks} ticks).");
}
