using System.Text;
using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>dump and load against each other and against handwritten mdb_dump text (the LMDB tools: LmdbInteropTests).</summary>
public sealed class DumpLoadTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>Keys and values with every byte value, including backslash, newline, space and NUL.</summary>
    internal static SortedDictionary<byte[], byte[]> BinaryEntries(int seed, int count, int maxKey = 64)
    {
        var rng = new Random(seed);
        var map = NewMap();
        map[[0x00]] = [];
        map[B("back\\slash")] = B("\\\\ two \\0a");
        map[B(" space\nnewline")] = [0x0A, 0x20, 0x5C, 0x7F, 0x80, 0xFF];
        while (map.Count < count)
        {
            var k = new byte[rng.Next(1, maxKey + 1)];
            var v = new byte[rng.Next(0, 300)];
            rng.NextBytes(k);
            rng.NextBytes(v);
            map[k] = v;
        }
        return map;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DumpAll_ThenLoad_GivesIdenticalContents(bool print)
    {
        string src = _dir.File("src.mkv"), dst = _dir.File("dst.mkv");
        var main = BinaryEntries(1, 400);
        var alpha = BinaryEntries(2, 50);
        Write(src, main);
        Write(src, alpha, tree: "alpha");
        Write(src, [], tree: "empty");
        var dump = Cli.Expect(0, print ? ["dump", src, "--all", "--print"] : ["dump", src, "--all"]);
        Assert.Equal("", dump.Err);
        Assert.Equal(3, dump.OutLines.Count(l => l == "DATA=END"));
        var load = Cli.ExpectWithInput(0, dump.Out, "load", "--create", dst);
        Assert.Equal("loaded 400 entries into the default tree\nloaded 50 entries into the tree 'alpha'\nloaded 0 entries into the tree 'empty'\n", load.Out);
        Equal(main, Read(dst));
        Equal(alpha, Read(dst, "alpha"));
        Assert.Equal(["alpha", "empty"], TreeNames(dst));
        // The text is byte-for-byte stable through a round trip.
        Assert.Equal(dump.Out, Cli.Expect(0, print ? ["dump", dst, "--all", "--print"] : ["dump", dst, "--all"]).Out);
    }

    [Fact]
    public void Dump_WritesTheMdbDumpHeader()
    {
        string src = _dir.File();
        Write(src, [KeyValuePair.Create(B("k"), B("v\\"))]);
        Write(src, [KeyValuePair.Create(B("a"), B("b"))], tree: "t");
        Assert.Equal(
            "VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=16777216\nmaxreaders=126\ndb_pagesize=4096\nHEADER=END\n 6b\n 765c\nDATA=END\n",
            Cli.Expect(0, "dump", src).Out);
        Assert.Equal(
            "VERSION=3\nformat=print\ndatabase=t\ntype=btree\nmapsize=16777216\nmaxreaders=126\ndb_pagesize=4096\nHEADER=END\n a\n b\nDATA=END\n",
            Cli.Expect(0, "dump", src, "--tree", "t", "-p").Out);
        Assert.Equal(" k\n v\\5c\n", string.Concat(Cli.Expect(0, "dump", src, "-p").OutLines.Skip(7).Take(2).Select(l => l + "\n")));
        Assert.Equal("error: no tree named 'u'\n", Cli.Expect(1, "dump", src, "--tree", "u").Err);
    }

    [Fact]
    public void Dump_ToAFile_AndLoad_FromAFile()
    {
        string src = _dir.File("src.mkv"), dst = _dir.File("dst.mkv"), text = _dir.File("dump.txt");
        var main = BinaryEntries(3, 100);
        Write(src, main);
        Assert.Equal("", Cli.Expect(0, "dump", src, "-o", text).Out);
        Cli.Expect(0, "load", "--create", dst, "--input", text);
        Equal(main, Read(dst));
        Assert.StartsWith("error: input file not found:", Cli.Expect(3, "load", dst, "--input", _dir.File("nope.txt")).Err);
    }

    [Fact]
    public void Load_IntoAMissingFileWithoutCreate_Exits3AndCreatesNothing()
    {
        string dst = _dir.File("typo.mkv");
        var r = Cli.ExpectWithInput(3, "VERSION=3\nformat=bytevalue\nHEADER=END\n 6b\n 76\nDATA=END\n", "load", dst);
        Assert.Equal("", r.Out);
        Assert.Equal($"error: database file not found: {dst} (pass --create to create a new database)\n", r.Err);
        Assert.False(File.Exists(dst));
    }

    [Fact]
    public void Load_UnnamedSection_GoesToTreeOption_NamedSectionsToTheirTrees()
    {
        string dst = _dir.File();
        string text =
            "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n k1\n v1\nDATA=END\n" +
            "VERSION=3\nformat=bytevalue\ndatabase=named\ntype=btree\nHEADER=END\n 6b32\n 7632\nDATA=END\n";
        Cli.ExpectWithInput(0, text, "load", "--create", dst, "--tree", "other");
        Assert.Equal(["named", "other"], TreeNames(dst));
        Assert.Empty(Read(dst));
        Assert.Equal("v1", Encoding.UTF8.GetString(Read(dst, "other")[B("k1")]));
        Assert.Equal("v2", Encoding.UTF8.GetString(Read(dst, "named")[B("k2")]));
    }

    [Fact]
    public void Load_IntoAnExistingDatabase_OverwritesUnlessNoOverwrite()
    {
        string dst = _dir.File();
        Cli.Expect(0, "put", "--create", dst, "k1", "old");
        string text = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n k1\n new\n k2\n v2\nDATA=END\n";
        Assert.Equal("loaded 1 entry into the default tree (1 existing kept)\n", Cli.ExpectWithInput(0, text, "load", dst, "-N").Out);
        Assert.Equal("old\n", Cli.Expect(0, "get", dst, "k1").Out);
        Cli.ExpectWithInput(0, text, "load", dst);
        Assert.Equal("new\n", Cli.Expect(0, "get", dst, "k1").Out);
    }

    [Fact]
    public void Load_PrintFormatEscapes_FollowMdbLoad()
    {
        string dst = _dir.File();
        // \\ is a backslash, \HH a byte (either case); a backslash followed by neither is taken literally, as
        // LMDB 0.9's mdb_dump -p writes backslashes unescaped.
        string text = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n a\\\\b\\00\\FF\n x\\zy\\\n k2\n trailing space \nDATA=END\n";
        Cli.ExpectWithInput(0, text, "load", "--create", dst);
        var map = Read(dst);
        Assert.Equal(new byte[] { (byte)'a', (byte)'\\', (byte)'b', 0x00, 0xFF }, map.Keys.First());
        Assert.Equal(B("x\\zy\\"), map.Values.First());
        Assert.Equal(B("trailing space "), map.Values.Last());
    }

    [Theory]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\n 6b\n", "input line 4: unexpected end of input after a key")]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\n 6b\n 76\n", "input line 5: unexpected end of input (no DATA=END)")]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\n 6b\nDATA=END\n", "input line 5: a key without a value before DATA=END")]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\n 6\n 76\nDATA=END\n", "input line 4: the key line has an odd number of hex digits")]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\n 6g\n 76\nDATA=END\n", "input line 4: the key line has a character that is not a hex digit")]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\nk\n 76\nDATA=END\n", "input line 4: expected a key line (starting with a space) or DATA=END, found 'k'")]
    [InlineData("VERSION=4\nHEADER=END\nDATA=END\n", "input line 1: unsupported VERSION 4")]
    [InlineData("VERSION=3\nformat=cbor\nHEADER=END\nDATA=END\n", "input line 2: unsupported format 'cbor'")]
    [InlineData("VERSION=3\ntype=hash\nHEADER=END\nDATA=END\n", "input line 2: unsupported type 'hash'")]
    [InlineData("VERSION=3\nformat=bytevalue\n", "input line 2: unexpected end of input in a header (no HEADER=END)")]
    [InlineData("VERSION=3\nnonsense\nHEADER=END\nDATA=END\n", "input line 2: expected a key=value header line, found 'nonsense'")]
    [InlineData("VERSION=3\nformat=bytevalue\nduplicates=1\ndupsort=1\nHEADER=END\nDATA=END\n", "input line 1: the section is a duplicate-key (dupsort) database, and the default tree holds one value per key")]
    [InlineData("VERSION=3\nformat=bytevalue\nmmapkv_keyorder=Sideways\nHEADER=END\nDATA=END\n", "input line 3: unsupported mmapkv_keyorder 'Sideways'")]
    [InlineData("VERSION=3\nformat=bytevalue\nHEADER=END\n \n 76\nDATA=END\n", "input line 4: the key is 0 bytes")]
    public void Load_MalformedInput_Exits2AndLoadsNothing(string text, string message)
    {
        string dst = _dir.File();
        Cli.Expect(0, "put", "--create", dst, "pre", "existing");
        var r = Cli.ExpectWithInput(2, "VERSION=3\nformat=print\nHEADER=END\n good\n pair\nDATA=END\n" + text, "load", dst);
        int shift = 6; // the good section in front moves every line number down by 6
        string shifted = System.Text.RegularExpressions.Regex.Replace(message, @"^input line (\d+)", m => $"input line {int.Parse(m.Groups[1].Value) + shift}");
        Assert.StartsWith($"error: {shifted}", r.Err);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        // One transaction: the good section in front is not loaded either.
        Assert.Equal([B("pre")], Read(dst).Keys.ToArray());
    }

    [Fact]
    public void Load_WarnsAboutIgnoredHeaderLines()
    {
        string dst = _dir.File();
        var r = Cli.ExpectWithInput(0, "VERSION=3\nformat=bytevalue\nintegerkey=1\nfuture=7\nHEADER=END\n 01000000\n 76\nDATA=END\n", "load", "--create", dst);
        Assert.Contains("warning: input line 4: unrecognized header keyword ignored: future", r.Err);
        Assert.Contains("warning: input line 1: integerkey ignored", r.Err);
        Assert.Single(Read(dst));
    }

    [Fact]
    public void Load_EmptyInput_LoadsNothing()
    {
        string dst = _dir.File();
        Assert.Equal("loaded nothing: the input has no sections\n", Cli.ExpectWithInput(0, "", "load", "--create", dst).Out);
    }

    [Fact]
    public void Dump_KeysOverLmdbsLimit_AreWrittenWithAWarning()
    {
        string src = _dir.File(), dst = _dir.File("dst.mkv");
        var entries = NewMap();
        entries[new byte[511]] = B("fits");
        entries[Enumerable.Repeat((byte)1, 512).ToArray()] = B("too long for LMDB");
        Write(src, entries);
        var r = Cli.Expect(0, "dump", src);
        Assert.Equal("warning: 1 key(s) are longer than 511 bytes, LMDB's limit: mdb_load will refuse them\n", r.Err);
        Cli.ExpectWithInput(0, r.Out, "load", "--create", dst); // MmapKv's own limit is higher
        Equal(entries, Read(dst));
    }

    [Fact]
    public void DumpAll_WarnsWhenADefaultKeyEqualsATreeName()
    {
        string src = _dir.File();
        Write(src, [KeyValuePair.Create(B("users"), B("x"))]);
        Write(src, [KeyValuePair.Create(B("k"), B("v"))], tree: "users");
        Assert.Contains("warning: the default tree has a key equal to the tree name 'users'", Cli.Expect(0, "dump", src, "--all").Err);
    }

    [Fact]
    public void TreeNames_SurviveNonAsciiThroughDumpAndLoad()
    {
        string src = _dir.File("src.mkv"), dst = _dir.File("dst.mkv");
        Write(src, [KeyValuePair.Create(B("k"), B("v"))], tree: "naïve café");
        var dump = Cli.Expect(0, "dump", src, "--all");
        Cli.ExpectWithInput(0, dump.Out, "load", "--create", dst);
        Assert.Equal(["naïve café"], TreeNames(dst));
        // As the process reads stdin: bytes, one char each (Latin-1).
        string asBytes = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(dump.Out));
        string dst2 = _dir.File("dst2.mkv");
        Cli.ExpectWithInput(0, asBytes, "load", "--create", dst2);
        Assert.Equal(["naïve café"], TreeNames(dst2));
    }
}
