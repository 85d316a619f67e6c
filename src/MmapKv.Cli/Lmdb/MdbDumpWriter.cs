namespace MmapKv.Cli.Lmdb;

/// <summary>
/// Writes LMDB's <c>mdb_dump</c> text format (version 3), which Debian's <c>mdb_load</c> reads. Each section is:
/// <code>
/// VERSION=3
/// format=bytevalue          (or print)
/// database=NAME             (named trees only)
/// type=btree
/// mapsize=N                 (mdb_load sizes the new environment's map from the first section's value)
/// maxreaders=126
/// duplicates=1             (multimap trees only, with dupsort=1: mdb_dump's lines for an MDB_DUPSORT database)
/// dupsort=1
/// mmapkv_keyorder=ORDER     (trees ordered other than bytewise only: Reverse, Int64, UInt64; see DumpKeyOrder)
/// db_pagesize=N
/// HEADER=END
///  6b6579                   (a space, then the key: hex in bytevalue; in print, printable ASCII as is,
///  76616c7565                \HH for a backslash and for any other byte; then the value likewise)
/// DATA=END
/// </code>
/// Lines end with '\n' on every platform, as mdb_dump writes them. A multimap tree's section has one key line and
/// one value line per (key, value) pair, a key's pairs in a row with its values ascending, exactly as mdb_dump
/// writes a dupsort database: both order values bytewise, a shorter one first (docs/format.md §5.1).
/// </summary>
internal sealed class MdbDumpWriter(TextWriter output, bool print, long mapSize, int pageSize)
{
    /// <summary>LMDB's longest key with its default build (MDB_MAXKEYSIZE = 511): mdb_load refuses longer ones.</summary>
    public const int LmdbMaxKeySize = 511;

    private char[] _buffer = new char[1024];

    private bool _multimap;
    private byte[] _dupKey = [];
    private bool _dupKeyStartsEmpty, _dupKeyCounted;

    /// <summary>Keys written that LMDB cannot store.</summary>
    public long OversizedKeys { get; private set; }

    /// <summary>Values of multimap trees longer than <see cref="LmdbMaxKeySize"/>: a dupsort database's values are
    /// limited like its keys, so mdb_load refuses them.</summary>
    public long OversizedDupValues { get; private set; }

    /// <summary>Keys of multimap trees that hold an empty value beside other values. LMDB keeps an empty value only
    /// as a key's sole value: mdb_load 0.9 fails (MDB_BAD_VALSIZE) or drops the empty one.</summary>
    public long EmptyDupValues { get; private set; }

    /// <summary>Starts a section. A multimap tree's order is always bytewise.</summary>
    public void BeginSection(string? database, KeyOrder order = KeyOrder.Bytewise, bool multimap = false)
    {
        if (multimap && order != KeyOrder.Bytewise) throw new ArgumentException("a multimap tree is ordered bytewise", nameof(order));
        if (database is not null && database.AsSpan().IndexOfAny('\n', '\r') >= 0)
            throw new CliException(ExitCodes.Error, $"the tree name '{database.ReplaceLineEndings(" ")}' contains a line break, which the dump format cannot carry");
        output.Write("VERSION=3\n");
        output.Write(print ? "format=print\n" : "format=bytevalue\n");
        if (database is not null) output.Write($"database={database}\n");
        output.Write("type=btree\n");
        output.Write($"mapsize={mapSize}\n");
        output.Write("maxreaders=126\n");
        if (multimap) output.Write("duplicates=1\ndupsort=1\n");
        if (order != KeyOrder.Bytewise) output.Write($"{DumpKeyOrder.HeaderKey}={DumpKeyOrder.Name(order)}\n");
        output.Write($"db_pagesize={pageSize}\n");
        output.Write("HEADER=END\n");
        _multimap = multimap;
        _dupKey = [];
    }

    /// <summary>Writes one entry, or for a multimap tree one (key, value) pair, in the tree's order.</summary>
    public void WritePair(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (_multimap) NoteDupPair(key, value);
        else if (key.Length > LmdbMaxKeySize) OversizedKeys++;
        WriteItem(key);
        WriteItem(value);
    }

    public void EndSection() => output.Write("DATA=END\n");

    /// <summary>Counts what LMDB cannot hold in a dupsort database. Pairs come by key, then value ascending, so an
    /// empty value is its key's first.</summary>
    private void NoteDupPair(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (value.Length > LmdbMaxKeySize) OversizedDupValues++;
        if (!key.SequenceEqual(_dupKey))
        {
            if (key.Length > LmdbMaxKeySize) OversizedKeys++;
            _dupKey = key.ToArray();
            _dupKeyStartsEmpty = value.IsEmpty;
            _dupKeyCounted = false;
        }
        else if (_dupKeyStartsEmpty && !_dupKeyCounted)
        {
            EmptyDupValues++;
            _dupKeyCounted = true;
        }
    }

    private void WriteItem(ReadOnlySpan<byte> bytes)
    {
        // Worst case: 3 chars per byte (\HH), a leading space and the newline.
        int need = bytes.Length * 3 + 2;
        if (_buffer.Length < need) _buffer = new char[Math.Max(need, _buffer.Length * 2)];
        var span = _buffer.AsSpan();
        span[0] = ' ';
        int n = 1;
        if (!print)
        {
            Convert.TryToHexStringLower(bytes, span[1..], out int written);
            n += written;
        }
        else
        {
            foreach (byte b in bytes)
            {
                // A backslash goes out as \5c, not \\: mdb_load 0.9.24 (Debian's) mis-decodes \\ once an earlier
                // escape on the line has shifted its in-place decoding, while \HH works in every version.
                if (b >= 0x20 && b < 0x7F && b != (byte)'\\') span[n++] = (char)b;
                else
                {
                    span[n++] = '\\';
                    span[n++] = "0123456789abcdef"[b >> 4];
                    span[n++] = "0123456789abcdef"[b & 0xF];
                }
            }
        }
        span[n++] = '\n';
        output.Write(span[..n]);
    }

    /// <summary>
    /// A map size for mdb_load: room for the data several times over (LMDB splits pages half-full when keys arrive
    /// in order, and keeps freed pages between its batch commits). It only reserves address space.
    /// </summary>
    public static long SuggestMapSize(long fileSize)
    {
        const long mib = 1 << 20;
        long size = Math.Max(16 * mib, fileSize * 4);
        return (size + mib - 1) / mib * mib;
    }
}
