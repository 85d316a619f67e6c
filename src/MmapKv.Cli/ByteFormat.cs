using System.Text;

namespace MmapKv.Cli;

/// <summary>How keys and values are written on the command line and in output: <c>--format utf8|hex|base64</c>.</summary>
internal enum ByteFormat
{
    Utf8,
    Hex,
    Base64,
}

internal static class ByteFormats
{
    public static readonly string[] Names = ["utf8", "hex", "base64"];

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static ByteFormat Parse(string? name) => name switch
    {
        null or "utf8" => ByteFormat.Utf8,
        "hex" => ByteFormat.Hex,
        "base64" => ByteFormat.Base64,
        _ => throw new UsageException($"unknown format '{name}': use utf8, hex or base64"),
    };

    /// <summary>Decodes a key or value given on the command line. <paramref name="what"/> names it in errors.</summary>
    public static byte[] Decode(string text, ByteFormat format, string what)
    {
        switch (format)
        {
            case ByteFormat.Utf8:
                return Encoding.UTF8.GetBytes(text);
            case ByteFormat.Hex:
                string hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
                try { return Convert.FromHexString(hex); }
                catch (FormatException) { throw new UsageException($"{what} is not valid hex (an even number of 0-9a-f digits): '{text}'"); }
            case ByteFormat.Base64:
                try { return Convert.FromBase64String(text); }
                catch (FormatException) { throw new UsageException($"{what} is not valid base64: '{text}'"); }
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    /// <summary>
    /// Encodes bytes for output. UTF-8 output decodes leniently (an invalid byte shows as U+FFFD): use hex or base64
    /// for binary data.
    /// </summary>
    public static string Encode(ReadOnlySpan<byte> bytes, ByteFormat format) => format switch
    {
        ByteFormat.Utf8 => Encoding.UTF8.GetString(bytes),
        ByteFormat.Hex => Convert.ToHexStringLower(bytes),
        ByteFormat.Base64 => Convert.ToBase64String(bytes),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>
    /// Encodes bytes for one field of a line-oriented listing (scan): as <see cref="Encode"/>, but in UTF-8 the
    /// characters that would break the line apart are escaped: <c>\\</c>, <c>\t</c>, <c>\n</c>, <c>\r</c>, and
    /// <c>\xHH</c> for other control bytes and for bytes that are not valid UTF-8.
    /// </summary>
    public static string EncodeField(ReadOnlySpan<byte> bytes, ByteFormat format)
    {
        if (format != ByteFormat.Utf8) return Encode(bytes, format);
        if (IsPlainText(bytes)) return Encoding.UTF8.GetString(bytes);
        var sb = new StringBuilder(bytes.Length + 8);
        int i = 0;
        while (i < bytes.Length)
        {
            byte b = bytes[i];
            if (b < 0x80)
            {
                sb.Append(b switch
                {
                    (byte)'\\' => "\\\\",
                    (byte)'\t' => "\\t",
                    (byte)'\n' => "\\n",
                    (byte)'\r' => "\\r",
                    < 0x20 or 0x7f => $"\\x{b:x2}",
                    _ => ((char)b).ToString(),
                });
                i++;
                continue;
            }
            int length = SequenceLength(bytes[i..]);
            if (length == 0)
            {
                sb.Append($"\\x{b:x2}");
                i++;
            }
            else
            {
                sb.Append(Encoding.UTF8.GetString(bytes.Slice(i, length)));
                i += length;
            }
        }
        return sb.ToString();
    }

    private static bool IsPlainText(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            if (b < 0x20 || b == 0x7f || b == (byte)'\\') return false;
        try { StrictUtf8.GetCharCount(bytes); return true; }
        catch (DecoderFallbackException) { return false; }
    }

    /// <summary>Length of the valid UTF-8 sequence at the start of <paramref name="bytes"/>, or 0 if it is invalid.</summary>
    private static int SequenceLength(ReadOnlySpan<byte> bytes)
    {
        int length = bytes[0] switch { >= 0xC2 and <= 0xDF => 2, >= 0xE0 and <= 0xEF => 3, >= 0xF0 and <= 0xF4 => 4, _ => 0 };
        if (length == 0 || bytes.Length < length) return 0;
        try { StrictUtf8.GetCharCount(bytes[..length]); return length; }
        catch (DecoderFallbackException) { return 0; }
    }
}
