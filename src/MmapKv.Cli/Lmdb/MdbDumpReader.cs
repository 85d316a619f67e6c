using System.Text;

namespace MmapKv.Cli.Lmdb;

/// <summary>The header of one section of an mdb_dump text.</summary>
/// <param name="Database">The <c>database=</c> name; null for the unnamed (main) database.</param>
/// <param name="Print">Whether data lines use the print format rather than bytevalue hex.</param>
/// <param name="Multimap">Whether the section is a duplicate-key database (<c>dupsort</c> or <c>duplicates</c>):
/// one line pair per (key, value), for a multimap tree.</param>
/// <param name="Order">The key order of an <c>mmapkv_keyorder=</c> line (<see cref="DumpKeyOrder"/>); null when the
/// header has none (LMDB's dumps and bytewise trees).</param>
/// <param name="IgnoredFlags">LMDB ordering flags with no MmapKv equivalent, which do not change the bytes
/// (integerkey, reversekey, integerdup, reversedup).</param>
/// <param name="HeaderLine">The input line the header starts on.</param>
internal sealed record DumpSection(string? Database, bool Print, bool Multimap, KeyOrder? Order, IReadOnlyList<string> IgnoredFlags, long HeaderLine)
{
    /// <summary>"the section" or "the section for 'NAME'", for messages.</summary>
    public string Describe() => Database is null ? "the section" : $"the section for '{Database}'";
}

/// <summary>
/// Reads the text <c>mdb_dump</c> writes (and <see cref="MdbDumpWriter"/>), section by section, following
/// <c>mdb_load</c>'s rules: a header of <c>key=value</c> lines up to <c>HEADER=END</c>, then key and value lines
/// that start with one space, up to <c>DATA=END</c>. Stricter than mdb_load where it matters for data: input that
/// ends inside a section is an error rather than a silent truncation. More lenient in one place: LMDB 0.9's
/// <c>mdb_dump -p</c> writes a backslash in the data unescaped, so a backslash that is not followed by another one
/// or by two hex digits is taken literally (mdb_load rejects that line).
/// </summary>
/// <remarks>
/// Input chars up to U+00FF stand for the byte of the same value (the tool reads files and stdin as Latin-1, so
/// each byte is one char); a char above that, which only text given as a string can hold, stands for its UTF-8 bytes.
/// </remarks>
internal sealed class MdbDumpReader(TextReader input)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
    private static readonly HashSet<string> KnownKeys = ["VERSION", "format", "database", "type", "mapsize", "mapaddr", "maxreaders", "db_pagesize"];
    // LMDB's own orders (reversekey: bytes compared from the end; integerkey/integerdup: native-endian unsigned
    // integers) have no MmapKv equivalent: loaded as bytes, ordered bytewise, with a warning.
    private static readonly HashSet<string> OrderFlags = ["reversekey", "integerkey", "integerdup", "reversedup"];
    // mdb_dump writes both for an MDB_DUPSORT database; mdb_load knows only dupsort. Either makes a multimap section.
    private static readonly HashSet<string> DuplicateFlags = ["duplicates", "dupsort"];

    private bool _print;

    /// <summary>Lines read so far (the number of the last line read).</summary>
    public long LineNumber { get; private set; }

    /// <summary>Chars read so far, line ends included: bytes, when the input is read as Latin-1.</summary>
    public long CharsRead { get; private set; }

    /// <summary>Warnings about header lines that were ignored.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Reads the next section's header. Returns null at the end of the input.</summary>
    public DumpSection? ReadHeader()
    {
        string? database = null;
        bool print = false, any = false, multimap = false;
        KeyOrder? order = null;
        long orderLine = 0;
        var ignored = new List<string>();
        long start = LineNumber + 1;
        while (true)
        {
            string? line = ReadLine();
            if (line is null)
            {
                if (!any) return null;
                throw Error("unexpected end of input in a header (no HEADER=END)");
            }
            if (line.Length == 0) continue; // blank lines between sections are harmless
            any = true;
            if (line == "HEADER=END") break;
            int eq = line.IndexOf('=');
            if (eq <= 0) throw Error(line.StartsWith(' ') ? "data line before HEADER=END" : $"expected a key=value header line, found '{Clip(line)}'");
            string key = line[..eq], value = line[(eq + 1)..];
            switch (key)
            {
                case "VERSION":
                    if (!int.TryParse(value, out int version) || version < 1 || version > 3)
                        throw Error($"unsupported VERSION {value} (this reader knows version 3)");
                    break;
                case "format":
                    print = value switch
                    {
                        "print" => true,
                        "bytevalue" => false,
                        _ => throw Error($"unsupported format '{value}' (expected bytevalue or print)"),
                    };
                    break;
                case "database":
                    database = DecodeName(value);
                    break;
                case "type":
                    if (value != "btree") throw Error($"unsupported type '{value}' (expected btree)");
                    break;
                case DumpKeyOrder.HeaderKey:
                    if (!DumpKeyOrder.TryParse(value, out var o))
                        throw Error($"unsupported {DumpKeyOrder.HeaderKey} '{value}' (expected Bytewise, Reverse, Int64, UInt64 or Custom)");
                    order = o;
                    orderLine = LineNumber;
                    break;
                case "dupfixed":
                    break; // LMDB stores equal-length values packed; their order is still bytewise
                default:
                    if (KnownKeys.Contains(key)) break; // mapsize, mapaddr, maxreaders, db_pagesize: LMDB settings
                    // Like mdb_load, the flag's presence counts, whatever its value.
                    if (DuplicateFlags.Contains(key)) { multimap = true; break; }
                    if (OrderFlags.Contains(key)) { if (!ignored.Contains(key)) ignored.Add(key); break; }
                    Warnings.Add($"input line {LineNumber}: unrecognized header keyword ignored: {key}");
                    break;
            }
        }
        if (multimap && order is { } stated && stated != KeyOrder.Bytewise)
            throw new UsageException($"input line {orderLine}: {DumpKeyOrder.HeaderKey}={DumpKeyOrder.Name(stated)} in a duplicate-key (dupsort) section: " +
                "a multimap tree is always ordered bytewise");
        _print = print;
        return new DumpSection(database, print, multimap, order, ignored, start);
    }

    /// <summary>Reads the next key and value of the current section. Returns false at DATA=END.</summary>
    public bool ReadPair(out byte[] key, out byte[] value)
    {
        value = [];
        string? line = ReadLine() ?? throw Error("unexpected end of input (no DATA=END)");
        if (line == "DATA=END")
        {
            key = [];
            return false;
        }
        key = DecodeData(line, "key");
        line = ReadLine() ?? throw Error("unexpected end of input after a key (its value line is missing)");
        if (line == "DATA=END") throw Error("a key without a value before DATA=END");
        value = DecodeData(line, "value");
        return true;
    }

    private byte[] DecodeData(string line, string what)
    {
        if (line.Length == 0 || line[0] != ' ')
            throw Error($"expected a {what} line (starting with a space) or DATA=END, found '{Clip(line)}'");
        var text = line.AsSpan(1);
        return _print ? DecodePrint(text) : DecodeHex(text, what);
    }

    private byte[] DecodeHex(ReadOnlySpan<char> text, string what)
    {
        if ((text.Length & 1) != 0) throw Error($"the {what} line has an odd number of hex digits");
        var bytes = new byte[text.Length / 2];
        for (int i = 0; i < bytes.Length; i++)
        {
            int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
            if ((hi | lo) < 0) throw Error($"the {what} line has a character that is not a hex digit");
            bytes[i] = (byte)(hi << 4 | lo);
        }
        return bytes;
    }

    private static byte[] DecodePrint(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (i + 1 < text.Length && text[i + 1] == '\\') { bytes.Add((byte)'\\'); i++; continue; }
                if (i + 2 < text.Length && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0)
                {
                    bytes.Add((byte)(HexValue(text[i + 1]) << 4 | HexValue(text[i + 2])));
                    i += 2;
                    continue;
                }
                bytes.Add((byte)'\\'); // unescaped backslash from LMDB 0.9's mdb_dump -p: take it literally
                continue;
            }
            if (c <= '\u00FF') { bytes.Add((byte)c); continue; }
            int n = char.IsHighSurrogate(c) && i + 1 < text.Length
                ? Encoding.UTF8.GetBytes(text.Slice(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(text.Slice(i, 1), utf8);
            for (int k = 0; k < n; k++) bytes.Add(utf8[k]);
        }
        return bytes.ToArray();
    }

    /// <summary>Database names are bytes in LMDB; read as Latin-1 they come back through UTF-8 to a tree name.</summary>
    private static string DecodeName(string value)
    {
        foreach (char c in value)
            if (c > '\u00FF') return value; // already text (input given as a string)
        byte[] bytes = Encoding.Latin1.GetBytes(value);
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return value; }
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private string? ReadLine()
    {
        string? line = input.ReadLine();
        if (line is null) return null;
        LineNumber++;
        CharsRead += line.Length + 1;
        return line;
    }

    private UsageException Error(string message) => new($"input line {LineNumber}: {message}");

    private static string Clip(string line) => line.Length <= 40 ? line : line[..40] + "...";
}
