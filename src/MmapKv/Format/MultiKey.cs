using System.Buffers.Binary;

namespace MmapKv.Format;

/// <summary>
/// The composite keys of a multimap tree (docs/format.md §5.1): every (key, value) pair is its own entry of an
/// ordinary B+tree, so the tree's bytewise order is the order of the pairs. Pure layout, no I/O: the public
/// <c>KvMultiTree</c> writes these keys and the checker reads them.
/// </summary>
/// <remarks>
/// <para>Entry keys, where <c>E(k)</c> is <c>k</c> with every 0x00 byte written as 0x00 0xFF:</para>
/// <list type="bullet">
/// <item><c>00 00</c>: the header (the count entry of the empty key, which is not a key); value 16 bytes, u64 keys then u64 values.</item>
/// <item><c>E(k) 00 00</c>: the count entry of key <c>k</c>; value 8 bytes, u64 number of values (at least 1).</item>
/// <item><c>E(k) 00 01 v</c>: value <c>v</c> of key <c>k</c>; the entry's value is empty.</item>
/// </list>
/// <para>Why the order is right. Let <c>a</c> and <c>b</c> be keys and <c>s</c>, <c>t</c> two terminators
/// (<c>00 00</c> or <c>00 01</c>, then anything). Then <c>E(a) s</c> and <c>E(b) t</c> compare as <c>a</c> and
/// <c>b</c> do whenever <c>a ≠ b</c>: (1) at the first position <c>i</c> where they differ, with <c>a[i] &lt; b[i]</c>,
/// the encodings agree before it, and <c>a[i]</c> encodes to a byte below <c>b[i]</c>'s first byte (two non-zero
/// bytes are themselves; a zero <c>a[i]</c> gives 0x00, below any non-zero <c>b[i]</c>); (2) if <c>a</c> is a proper
/// prefix of <c>b</c>, <c>E(a)</c> is a prefix of <c>E(b)</c>, and the next bytes are <c>a</c>'s terminator
/// <c>00 x</c> (x ≤ 01) against <c>b</c>'s next byte: a non-zero byte (above 00) or <c>00 FF</c> (equal, then FF above x).
/// So "a" sorts before "ab" and before "a\0". With <c>a = b</c> the common prefix is <c>E(a)</c> and the terminators
/// decide: the count entry (<c>00 00</c>, nothing after) sorts before every value entry (<c>00 01</c>), and the
/// value entries compare by their tails, which are the values, bytewise. The header sorts before everything: an
/// encoded key starts with a non-zero byte or with <c>00 FF</c>. The encoding is also unambiguous: reading left to
/// right, the first 0x00 not followed by 0xFF is the terminator. <c>MultimapTreeTests</c> checks this against a
/// sorted model.</para>
/// <para>A pair fits when <c>len(E(k)) + 2 + len(v) ≤ MaxKeySize</c>, that is the key's length plus its zero
/// bytes, plus 2, plus the value's length.</para>
/// </remarks>
internal static class MultiKey
{
    /// <summary>Length of the header entry's value: u64 keys, u64 values (little-endian, as all of docs/format.md §1.2).</summary>
    public const int HeaderValueSize = 16;

    /// <summary>Length of a count entry's value: u64 values of the key.</summary>
    public const int CountValueSize = 8;

    /// <summary>Bytes a pair adds beyond its escaped key and its value: the two-byte terminator.</summary>
    public const int TerminatorSize = 2;

    /// <summary>The second byte of a count entry's terminator.</summary>
    public const byte CountTag = 0x00;

    /// <summary>The second byte of a value entry's terminator.</summary>
    public const byte ValueTag = 0x01;

    /// <summary>The second byte of an escaped 0x00 inside a key.</summary>
    public const byte EscapeTag = 0xFF;

    /// <summary>The header entry's key.</summary>
    public static ReadOnlySpan<byte> HeaderKey => [0x00, CountTag];

    /// <summary>What an entry key of a multimap tree is.</summary>
    public enum Kind
    {
        /// <summary>Not a valid encoding.</summary>
        Invalid,
        /// <summary>The header, <c>00 00</c>.</summary>
        Header,
        /// <summary>A key's count entry.</summary>
        Count,
        /// <summary>A value entry.</summary>
        Value,
    }

    /// <summary>Length of <c>E(key)</c>: the key plus one byte per 0x00 in it.</summary>
    public static int EscapedLength(ReadOnlySpan<byte> key) => key.Length + key.Count((byte)0);

    /// <summary>Writes <c>E(key) 00 tag</c> into <paramref name="destination"/> (at least
    /// <see cref="EscapedLength"/> + 2 bytes) and returns the bytes written.</summary>
    public static int WritePrefix(ReadOnlySpan<byte> key, byte tag, Span<byte> destination)
    {
        int n = 0;
        while (true)
        {
            int zero = key.IndexOf((byte)0);
            var run = zero < 0 ? key : key[..zero];
            run.CopyTo(destination[n..]);
            n += run.Length;
            if (zero < 0) break;
            destination[n++] = 0x00;
            destination[n++] = EscapeTag;
            key = key[(zero + 1)..];
        }
        destination[n++] = 0x00;
        destination[n++] = tag;
        return n;
    }

    /// <summary>Writes <c>E(key) 00 01 value</c> and returns the bytes written.</summary>
    public static int WriteValueKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Span<byte> destination)
    {
        int n = WritePrefix(key, ValueTag, destination);
        value.CopyTo(destination[n..]);
        return n + value.Length;
    }

    /// <summary>
    /// Reads an entry key: its kind, and for a count or value entry the length of <c>E(k)</c>
    /// (<paramref name="escapedLength"/>; the value of a value entry starts 2 bytes after it) and whether <c>k</c>
    /// holds a 0x00 byte (so <c>E(k)</c> is not <c>k</c> itself).
    /// </summary>
    public static Kind Parse(ReadOnlySpan<byte> entryKey, out int escapedLength, out bool hasZero)
    {
        escapedLength = 0;
        hasZero = false;
        int i = 0;
        while (true)
        {
            int zero = entryKey[i..].IndexOf((byte)0);
            if (zero < 0 || i + zero + 1 >= entryKey.Length) return Kind.Invalid;
            i += zero;
            byte tag = entryKey[i + 1];
            if (tag == EscapeTag)
            {
                hasZero = true;
                i += 2;
                continue;
            }
            escapedLength = i;
            if (tag == CountTag) return i + 2 != entryKey.Length ? Kind.Invalid : i == 0 ? Kind.Header : Kind.Count;
            return tag == ValueTag && i > 0 ? Kind.Value : Kind.Invalid;
        }
    }

    /// <summary>Writes <c>k</c> from <c>E(k)</c> (a well-formed <paramref name="escaped"/>, as <see cref="Parse"/>
    /// measured it) and returns its length.</summary>
    public static int Unescape(ReadOnlySpan<byte> escaped, Span<byte> destination)
    {
        int n = 0;
        for (int i = 0; i < escaped.Length; i++)
        {
            byte b = escaped[i];
            destination[n++] = b;
            if (b == 0) i++; // skip the escape's 0xFF
        }
        return n;
    }

    /// <summary>Reads a count entry's value (the caller checked its length).</summary>
    public static long ReadCount(ReadOnlySpan<byte> value) => BinaryPrimitives.ReadInt64LittleEndian(value);

    /// <summary>Writes a count entry's value.</summary>
    public static void WriteCount(Span<byte> destination, long count) => BinaryPrimitives.WriteInt64LittleEndian(destination, count);

    /// <summary>Reads the header's value: keys, then values.</summary>
    public static void ReadHeader(ReadOnlySpan<byte> value, out long keys, out long values)
    {
        keys = BinaryPrimitives.ReadInt64LittleEndian(value);
        values = BinaryPrimitives.ReadInt64LittleEndian(value[8..]);
    }

    /// <summary>Writes the header's value.</summary>
    public static void WriteHeader(Span<byte> destination, long keys, long values)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, keys);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], values);
    }
}
