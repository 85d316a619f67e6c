using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace MmapKv;

/// <summary>
/// A value as UTF-8 JSON through System.Text.Json, with the metadata of a <see cref="JsonTypeInfo{T}"/> (from a
/// source-generated <c>JsonSerializerContext</c>, so it is trim- and AOT-safe: no reflection). For values only:
/// JSON text does not sort like the values it encodes. Get one from <see cref="KvCodec.Json{T}(JsonTypeInfo{T})"/>.
/// </summary>
/// <remarks>
/// The writer follows the type info's <see cref="JsonSerializerOptions"/> (encoder, indentation, maximum depth).
/// Stored JSON <c>null</c> decodes to <c>null</c> (or <c>default</c>), whatever the nullability of
/// <typeparamref name="T"/>. Malformed JSON gives <see cref="JsonException"/>.
/// </remarks>
/// <typeparam name="T">The value type.</typeparam>
public sealed class JsonCodec<T> : IValueCodec<T>
{
    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly JsonWriterOptions _writerOptions;

    internal JsonCodec(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        _typeInfo = typeInfo;
        var options = typeInfo.Options;
        _writerOptions = new JsonWriterOptions
        {
            Encoder = options.Encoder,
            Indented = options.WriteIndented,
            IndentCharacter = options.IndentCharacter,
            IndentSize = options.IndentSize,
            NewLine = options.NewLine,
            MaxDepth = options.MaxDepth,
        };
    }

    /// <summary>The type info values are written and read with.</summary>
    public JsonTypeInfo<T> TypeInfo => _typeInfo;

    /// <inheritdoc/>
    public void Encode(T value, IBufferWriter<byte> destination)
    {
        using var writer = new Utf8JsonWriter(destination, _writerOptions);
        JsonSerializer.Serialize(writer, value, _typeInfo);
    }

    /// <inheritdoc/>
    /// <exception cref="JsonException">The bytes are not JSON of this type.</exception>
    public T Decode(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize(source, _typeInfo)!;
}
