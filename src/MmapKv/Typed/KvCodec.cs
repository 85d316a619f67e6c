using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;

namespace MmapKv;

/// <summary>
/// The built-in codecs for <see cref="KvTree{TKey, TValue}"/>. Each encoding is documented on its codec type; the
/// integer, <see cref="System.Guid"/> and <see cref="System.DateTime"/> encodings sort like the values, so typed
/// ranges come in value order. Every codec here except JSON serves both keys and values.
/// </summary>
[SuppressMessage("Naming", "CA1720", Justification = "Named after the type each codec encodes, as TypeCode and Convert name theirs.")]
public static class KvCodec
{
    /// <summary>UTF-8 strings (<see cref="StringCodec"/>).</summary>
    public static StringCodec String => StringCodec.Instance;

    /// <summary>32-bit integers in 4 bytes that sort numerically (<see cref="Int32Codec"/>).</summary>
    public static Int32Codec Int32 => Int32Codec.Instance;

    /// <summary>64-bit integers in 8 bytes that sort numerically (<see cref="Int64Codec"/>).</summary>
    public static Int64Codec Int64 => Int64Codec.Instance;

    /// <summary>GUIDs in 16 big-endian bytes that sort like <see cref="System.Guid.CompareTo(System.Guid)"/> (<see cref="GuidCodec"/>).</summary>
    public static GuidCodec Guid => GuidCodec.Instance;

    /// <summary>Instants as UTC ticks in 8 bytes that sort in time order (<see cref="DateTimeCodec"/>, which says how
    /// <see cref="System.DateTime.Kind"/> is handled).</summary>
    public static DateTimeCodec DateTime => DateTimeCodec.Instance;

    /// <summary>Values as JSON, written and read with <paramref name="typeInfo"/> (<see cref="JsonCodec{T}"/>).</summary>
    /// <param name="typeInfo">The metadata of <typeparamref name="T"/>, typically <c>MyContext.Default.MyType</c> from a
    /// source-generated <c>JsonSerializerContext</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="typeInfo"/> is null.</exception>
    public static JsonCodec<T> Json<T>(JsonTypeInfo<T> typeInfo) => new(typeInfo);

    /// <summary>The built-in key codec for <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not string, int, long, Guid or DateTime.</exception>
    public static IKeyCodec<T> KeyCodecFor<T>() => Defaults<T>.Codec as IKeyCodec<T> ?? throw NoCodec(typeof(T), "key");

    /// <summary>The built-in value codec for <typeparamref name="T"/> (JSON needs its type info, so it is never chosen here).</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not string, int, long, Guid or DateTime.</exception>
    public static IValueCodec<T> ValueCodecFor<T>() => Defaults<T>.Codec as IValueCodec<T> ?? throw NoCodec(typeof(T), "value");

    private static NotSupportedException NoCodec(Type type, string role) => new(
        $"There is no built-in {role} codec for {type}; the built-in ones are for string, int, long, Guid and DateTime. " +
        $"Pass a codec (an I{(role == "key" ? "Key" : "Value")}Codec<{type.Name}>, or KvCodec.Json(typeInfo) for a value) to OpenTree.");

    /// <summary>Picked once per type; typeof comparisons only, so trimming and AOT keep working.</summary>
    private static class Defaults<T>
    {
        public static readonly object? Codec =
            typeof(T) == typeof(string) ? StringCodec.Instance :
            typeof(T) == typeof(int) ? Int32Codec.Instance :
            typeof(T) == typeof(long) ? Int64Codec.Instance :
            typeof(T) == typeof(Guid) ? GuidCodec.Instance :
            typeof(T) == typeof(DateTime) ? DateTimeCodec.Instance :
            null;
    }
}
