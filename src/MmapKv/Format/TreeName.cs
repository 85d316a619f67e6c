using System.Text;

namespace MmapKv.Format;

/// <summary>
/// Tree names as the catalog stores them (docs/format.md §5): strict UTF-8, 1 to MaxKeySize bytes. Decoding is
/// strict so that every stored name maps to exactly one string and back; a key that is not valid UTF-8 is damage.
/// </summary>
internal static class TreeName
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Decode(ReadOnlySpan<byte> stored, int maxKeySize)
    {
        if (stored.Length == 0 || stored.Length > maxKeySize)
            Corrupt.Throw($"the catalog holds a tree name of {stored.Length} bytes, outside 1..{maxKeySize}");
        try { return Strict.GetString(stored); }
        catch (DecoderFallbackException) { throw Corrupt.Create("the catalog holds a tree name that is not valid UTF-8"); }
    }

    public static byte[] Encode(string name, int maxKeySize)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        byte[] key;
        try { key = Strict.GetBytes(name); }
        catch (EncoderFallbackException) { throw new ArgumentException("A tree name must be valid Unicode (no lone surrogates).", nameof(name)); }
        if (key.Length > maxKeySize)
            throw new ArgumentException($"A tree name may be at most {maxKeySize} UTF-8 bytes.", nameof(name));
        return key;
    }
}
