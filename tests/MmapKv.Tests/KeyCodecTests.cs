using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The built-in codecs of the typed layer: every codec round-trips as a key and as a value, the integer, Guid and
/// DateTime encodings sort like the values (FsCheck properties with printed, replayable seeds), and bad input or
/// bytes of the wrong shape give the documented exceptions.
/// </summary>
public class KeyCodecTests
{
    private static byte[] EncodeKey<T>(IKeyCodec<T> codec, T key)
    {
        var buffer = new byte[1024];
        Assert.True(codec.TryEncode(key, buffer, out int n));
        return buffer[..n];
    }

    private static byte[] EncodeValue<T>(IValueCodec<T> codec, T value)
    {
        var writer = new ArrayBufferWriter<byte>();
        codec.Encode(value, writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>As a key and as a value: the same bytes, and they decode to the value.</summary>
    private static void AssertRoundTrip<T, TCodec>(TCodec codec, T value, int? expectedLength = null)
        where TCodec : IKeyCodec<T>, IValueCodec<T>
    {
        var asKey = EncodeKey(codec, value);
        var asValue = EncodeValue(codec, value);
        Assert.Equal(asKey, asValue);
        if (expectedLength is int length) Assert.Equal(length, asKey.Length);
        Assert.Equal(value, ((IKeyCodec<T>)codec).Decode(asKey));
        Assert.Equal(value, ((IValueCodec<T>)codec).Decode(asValue));
    }

    [Theory]
    [InlineData(int.MinValue)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(123456789)]
    [InlineData(int.MaxValue)]
    public void Int32_RoundTrips(int value) => AssertRoundTrip(KvCodec.Int32, value, 4);

    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(-1L)]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(1L << 40)]
    [InlineData(long.MaxValue)]
    public void Int64_RoundTrips(long value) => AssertRoundTrip(KvCodec.Int64, value, 8);

    [Fact]
    public void Int_EncodingIsBigEndianWithTheSignBitFlipped()
    {
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x00 }, EncodeKey(KvCodec.Int32, int.MinValue));
        Assert.Equal(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF }, EncodeKey(KvCodec.Int32, -1));
        Assert.Equal(new byte[] { 0x80, 0x00, 0x00, 0x01 }, EncodeKey(KvCodec.Int32, 1));
        Assert.Equal(new byte[] { 0x80, 0, 0, 0, 0, 0, 0x01, 0x02 }, EncodeKey(KvCodec.Int64, 0x0102L));
        Assert.Equal(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE }, EncodeKey(KvCodec.Int64, -2L));
    }

    [Fact]
    public void Guid_RoundTrips_InTheByteOrderOfItsStringForm()
    {
        AssertRoundTrip(KvCodec.Guid, Guid.Empty, 16);
        AssertRoundTrip(KvCodec.Guid, Guid.AllBitsSet, 16);
        for (int i = 0; i < 50; i++) AssertRoundTrip(KvCodec.Guid, Guid.NewGuid(), 16);
        var g = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), EncodeKey(KvCodec.Guid, g));
    }

    [Fact]
    public void DateTime_RoundTrips_AsUtc()
    {
        AssertRoundTrip(KvCodec.DateTime, DateTime.MinValue.ToUniversalTimeKind(), 8);
        AssertRoundTrip(KvCodec.DateTime, DateTime.MaxValue.ToUniversalTimeKind(), 8);
        AssertRoundTrip(KvCodec.DateTime, new DateTime(2026, 12, 2, 1, 2, 3, DateTimeKind.Utc).AddTicks(4567), 8);
        var utc = DateTime.UtcNow;
        var decoded = KvCodec.DateTime.Decode(EncodeKey(KvCodec.DateTime, utc));
        Assert.Equal(DateTimeKind.Utc, decoded.Kind);
        Assert.Equal(utc.Ticks, decoded.Ticks);
    }

    [Fact]
    public void DateTime_Local_IsStoredAsTheSameInstantInUtc()
    {
        var local = new DateTime(2026, 6, 1, 12, 0, 0, DateTimeKind.Local);
        var decoded = KvCodec.DateTime.Decode(EncodeKey(KvCodec.DateTime, local));
        Assert.Equal(DateTimeKind.Utc, decoded.Kind);
        Assert.Equal(local.ToUniversalTime(), decoded);
        Assert.Equal(EncodeKey(KvCodec.DateTime, local.ToUniversalTime()), EncodeValue(KvCodec.DateTime, local));
    }

    [Fact]
    public void DateTime_Unspecified_IsRefused()
    {
        var unspecified = new DateTime(2026, 1, 1);
        var e = Assert.Throws<ArgumentException>(() => KvCodec.DateTime.TryEncode(unspecified, new byte[8], out _));
        Assert.Contains("Unspecified", e.Message);
        Assert.Throws<ArgumentException>(() => KvCodec.DateTime.Encode(unspecified, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void DateTime_TicksPastMaxValue_IsAFormatException()
    {
        var e = Assert.Throws<FormatException>(() => KvCodec.DateTime.Decode(new byte[] { 0xFF, 0, 0, 0, 0, 0, 0, 0 }));
        Assert.Contains("MaxValue", e.Message);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("hello, world")]
    [InlineData("grüße €")]
    [InlineData("emoji 😀 and 𝄞")]
    [InlineData("")]
    public void String_RoundTrips_AsUtf8(string value)
    {
        AssertRoundTrip(KvCodec.String, value, System.Text.Encoding.UTF8.GetByteCount(value));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(value), EncodeValue(KvCodec.String, value));
    }

    [Fact]
    public void String_Long_RoundTripsAsAValue()
    {
        string value = string.Concat(Enumerable.Range(0, 50_000).Select(i => (char)('a' + i % 26)));
        var bytes = EncodeValue(KvCodec.String, value);
        Assert.Equal(50_000, bytes.Length);
        Assert.Equal(value, KvCodec.String.Decode(bytes));
    }

    [Fact]
    public void String_LoneSurrogate_IsRefused()
    {
        string bad = "ab\uD800c";
        var e = Assert.Throws<ArgumentException>(() => KvCodec.String.TryEncode(bad, new byte[64], out _));
        Assert.Contains("index 2", e.Message);
        Assert.Throws<ArgumentException>(() => KvCodec.String.Encode(bad, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void String_InvalidUtf8_IsAFormatException()
    {
        var e = Assert.Throws<FormatException>(() => KvCodec.String.Decode(new byte[] { 0x61, 0xC3, 0x28 }));
        Assert.Contains("UTF-8", e.Message);
    }

    /// <summary>The documented exception to ordinal order: U+E000..U+FFFF sort before supplementary characters.</summary>
    [Fact]
    public void String_SortsByCodePoint()
    {
        byte[] privateUse = EncodeKey(KvCodec.String, "\uE000"), supplementary = EncodeKey(KvCodec.String, "😀");
        Assert.True(privateUse.AsSpan().SequenceCompareTo(supplementary) < 0);
        Assert.True(string.CompareOrdinal("\uE000", "😀") > 0);
    }

    [Fact]
    public void TryEncode_IntoTooSmallASpan_ReturnsFalse()
    {
        var small = new byte[3];
        Assert.False(KvCodec.Int32.TryEncode(1, small, out _));
        Assert.False(KvCodec.Int64.TryEncode(1, new byte[7], out _));
        Assert.False(KvCodec.Guid.TryEncode(Guid.NewGuid(), new byte[15], out _));
        Assert.False(KvCodec.DateTime.TryEncode(DateTime.UtcNow, new byte[7], out _));
        Assert.False(KvCodec.String.TryEncode("abcd", small, out _));
        Assert.True(KvCodec.String.TryEncode("abc", small, out int n));
        Assert.Equal(3, n);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    public void FixedSize_WrongLength_IsAFormatExceptionNamingBothLengths(int length)
    {
        var bytes = new byte[length];
        var e = Assert.Throws<FormatException>(() => KvCodec.Int32.Decode(bytes));
        Assert.Contains("4 bytes", e.Message);
        Assert.Contains($"{length} bytes", e.Message);
        Assert.Throws<FormatException>(() => KvCodec.Int64.Decode(bytes));
        Assert.Throws<FormatException>(() => KvCodec.Guid.Decode(bytes));
        Assert.Throws<FormatException>(() => KvCodec.DateTime.Decode(bytes));
    }

    [Fact]
    public void Defaults_CoverTheBuiltInTypes_AndRefuseOthers()
    {
        Assert.Same(KvCodec.String, KvCodec.KeyCodecFor<string>());
        Assert.Same(KvCodec.Int32, KvCodec.ValueCodecFor<int>());
        Assert.Same(KvCodec.Int64, KvCodec.KeyCodecFor<long>());
        Assert.Same(KvCodec.Guid, KvCodec.ValueCodecFor<Guid>());
        Assert.Same(KvCodec.DateTime, KvCodec.KeyCodecFor<DateTime>());
        var e = Assert.Throws<NotSupportedException>(() => KvCodec.KeyCodecFor<decimal>());
        Assert.Contains("Decimal", e.Message);
        Assert.Throws<NotSupportedException>(() => KvCodec.ValueCodecFor<DayOfWeek>());
    }

    private static int Sign(int c) => Math.Sign(c);

    /// <summary>For random pairs, the bytewise order of the encodings is the numeric order.</summary>
    [Fact]
    public void Int32_ByteOrder_IsNumericOrder_Property()
    {
        // Extremes and small values often, so pairs around zero and the sign change are common.
        var wide = from hi in Gen.Choose(short.MinValue, short.MaxValue) from lo in Gen.Choose(0, ushort.MaxValue) select (hi << 16) | lo;
        var gen = Gen.Frequency((4, ArbMap.Default.ArbFor<int>().Generator), (2, wide),
            (1, Gen.Elements(int.MinValue, int.MinValue + 1, -1, 0, 1, int.MaxValue - 1, int.MaxValue)));
        PropertyRunner.Run("Int32 key order", Arb.From(from a in gen from b in gen select (a, b)), pair =>
        {
            var (a, b) = pair;
            int bytes = EncodeKey(KvCodec.Int32, a).AsSpan().SequenceCompareTo(EncodeKey(KvCodec.Int32, b));
            Assert.True(Sign(bytes) == Sign(a.CompareTo(b)), $"{a} vs {b}: byte order {bytes}");
        }, iterations: PropertyRunner.Iterations(3000));
    }

    [Fact]
    public void Int64_ByteOrder_IsNumericOrder_Property()
    {
        var chunk = Gen.Choose(0, ushort.MaxValue);
        var wide = from a in chunk from b in chunk from c in chunk from d in chunk
                   select (long)(((ulong)(uint)a << 48) | ((ulong)(uint)b << 32) | ((ulong)(uint)c << 16) | (uint)d);
        var gen = Gen.Frequency((3, wide), (2, ArbMap.Default.ArbFor<long>().Generator),
            (1, Gen.Elements(long.MinValue, long.MinValue + 1, -1L, 0L, 1L, long.MaxValue - 1, long.MaxValue)));
        PropertyRunner.Run("Int64 key order", Arb.From(from a in gen from b in gen select (a, b)), pair =>
        {
            var (a, b) = pair;
            int bytes = EncodeKey(KvCodec.Int64, a).AsSpan().SequenceCompareTo(EncodeKey(KvCodec.Int64, b));
            Assert.True(Sign(bytes) == Sign(a.CompareTo(b)), $"{a} vs {b}: byte order {bytes}");
        }, iterations: PropertyRunner.Iterations(3000));
    }

    /// <summary>The bytewise order of the big-endian encoding is Guid.CompareTo's order, as GuidCodec documents.</summary>
    [Fact]
    public void Guid_ByteOrder_IsCompareToOrder_Property()
    {
        // Bytes from a small alphabet, so pairs often share leading fields and differ in a later one.
        var bytes = Gen.Elements<byte>(0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF).ArrayOf(16);
        var gen = from b in bytes select new Guid(b);
        PropertyRunner.Run("Guid key order", Arb.From(from a in gen from b in gen select (a, b)), pair =>
        {
            var (a, b) = pair;
            int order = EncodeKey(KvCodec.Guid, a).AsSpan().SequenceCompareTo(EncodeKey(KvCodec.Guid, b));
            Assert.True(Sign(order) == Sign(a.CompareTo(b)), $"{a} vs {b}: byte order {order}");
        }, iterations: PropertyRunner.Iterations(3000));
    }

    [Fact]
    public void DateTime_ByteOrder_IsTimeOrder_Property()
    {
        var chunk = Gen.Choose(0, ushort.MaxValue);
        var gen = from a in chunk from b in chunk from c in chunk from d in chunk
                  let t = ((ulong)(uint)a << 48) | ((ulong)(uint)b << 32) | ((ulong)(uint)c << 16) | (uint)d
                  select new DateTime((long)(t % (ulong)(DateTime.MaxValue.Ticks + 1)), DateTimeKind.Utc);
        PropertyRunner.Run("DateTime key order", Arb.From(from a in gen from b in gen select (a, b)), pair =>
        {
            var (a, b) = pair;
            int order = EncodeKey(KvCodec.DateTime, a).AsSpan().SequenceCompareTo(EncodeKey(KvCodec.DateTime, b));
            Assert.True(Sign(order) == Sign(a.CompareTo(b)), $"{a:O} vs {b:O}: byte order {order}");
        }, iterations: PropertyRunner.Iterations(2000));
    }
}

internal static class DateTimeTestExtensions
{
    public static DateTime ToUniversalTimeKind(this DateTime d) => DateTime.SpecifyKind(d, DateTimeKind.Utc);
}
