using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace MmapKv;

/// <summary>
/// <see cref="string"/> as UTF-8, with no length prefix or terminator. Bytewise order of the encodings is Unicode
/// code point order, which is <see cref="StringComparison.Ordinal"/> order except that characters from U+E000 to
/// U+FFFF sort before supplementary characters (surrogate pairs) here and after them in ordinal order. The same
/// encoding serves keys and values. Get it from <see cref="KvCodec.String"/>.
/// </summary>
/// <remarks>
/// Encoding and decoding are strict: a string with a lone surrogate has no UTF-8 form and is refused with
/// <see cref="ArgumentException"/> (replacing it would map two different strings to one key), and bytes that are not
/// valid UTF-8 give <see cref="FormatException"/>. The empty string encodes to no bytes, which is not a valid key
/// (keys are 1 to <see cref="KvDatabase.MaxKeySize"/> bytes), but is a valid value.
/// </remarks>
public sealed class StringCodec : IKeyCodec<string>, IValueCodec<string>
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal static readonly StringCodec Instance = new();

    private StringCodec() { }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    public bool TryEncode(string key, Span<byte> destination, out int bytesWritten)
    {
        ArgumentNullException.ThrowIfNull(key);
        var status = Utf8.FromUtf16(key, destination, out int charsRead, out bytesWritten, replaceInvalidSequences: false);
        if (status == OperationStatus.Done) return true;
        if (status == OperationStatus.InvalidData) ThrowLoneSurrogate(charsRead, nameof(key));
        bytesWritten = 0;
        return false;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    public void Encode(string value, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(destination);
        int length;
        try
        {
            length = Strict.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"The string has a lone surrogate at index {e.Index}, so it has no UTF-8 form.", nameof(value), e);
        }
        Strict.GetBytes(value, destination.GetSpan(length));
        destination.Advance(length);
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<byte> source)
    {
        try
        {
            return Strict.GetString(source);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException($"The {source.Length} bytes are not valid UTF-8.", e);
        }
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLoneSurrogate(int index, string paramName) =>
        throw new ArgumentException($"The string has a lone surrogate at index {index}, so it has no UTF-8 form.", paramName);
}
