using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>dump and load of multimap trees: duplicate-key (dupsort) sections, one line pair per (key, value).
/// Against the real LMDB tools: LmdbDupsortInteropTests.</summary>
public sealed class MultimapDumpLoadTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static int ComparePairs((byte[] Key, byte[] Value) a, (byte[] Key, byte[] Value) b)
    {
        int c = a.Key.AsSpan().SequenceCompareTo(b.Key);
        return c != 0 ? c : a.Value.AsSpan().SequenceCompareTo(b.Value);
    }

    /// <summary>
    /// Distinct pairs, sorted by key then value bytewise (the order of a multimap tree, computed here independently):
    /// keys of 1 to 40 bytes with 0x00 bytes among them, each with 1 to <paramref name="maxValues"/> values, one key
    /// with 2,000. <paramref name="lmdbSafe"/> keeps to what an LMDB dupsort database holds: values of 1 to 511 bytes.
    /// </summary>
    internal static List<(byte[] Key, byte[] Value)> Pairs(int seed, int keys, int maxValues, bool lmdbSafe)
    {
        var rng = new Random(seed);
        var seen = new HashSet<string>();
        var pairs = new List<(byte[], byte[])>();
        void Add(byte[] k, byte[] v)
        {
            if (seen.Add(Convert.ToHexString(k) + ":" + Convert.ToHexString(v))) pairs.Add((k, v));
        }
        for (int i = 0; i < keys; i++)
        {
            var k = new byte[rng.Next(1, 41)];
            rng.NextBytes(k);
            if (rng.Next(3) == 0) k[rng.Next(k.Length)] = 0; // escaped in the composite keys (docs/format.md §5.1)
            int n = rng.Next(1, maxValues + 1);
            for (int j = 0; j < n; j++)
            {
                var v = new byte[rng.Next(lmdbSafe ? 1 : 0, 61)];
                rng.NextBytes(v);
                Add(k, v);
            }
        }
        for (int j = 0; j < 2000; j++) Add(B("many"), B($"value {j:D5}"));
        Add([0x00], [0x00]);
        Add([0x00, 0x00], [0xFF]);
        Add(B("a"), lmdbSafe ? B("only") : []);
        Add(B("a\0"), B("2"));
        Add(B("ab"), Enumerable.Repeat((byte)0x5C, lmdbSafe ? 511 : 600).ToArray()); // backslashes, long
        pairs.Sort(ComparePairs);
        return pairs;
    }

    internal static void WriteMulti(string path, string tree, IEnumerable<(byte[] Key, byte[] Value)> pairs)
    {
        using var db = KvDatabase.Open(path);
        using var tx = db.BeginWrite();
        var m = tx.OpenMultiTree(tree);
        foreach (var (k, v) in pairs) Assert.True(m.Add(k, v));
        tx.Commit();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DumpAll_ThenLoad_GivesEveryPairBack(bool print)
    {
        string src = _dir.File("src.mkv"), dst = _dir.File("dst.mkv");
        var tags = Pairs(1, 300, 40, lmdbSafe: false);
        var main = DumpLoadTests.BinaryEntries(2, 50);
        Write(src, main);
        WriteMulti(src, "tags", tags);
        Write(src, [KeyValuePair.Create(B("k"), B("v"))], tree: "plain");
        var dump = Cli.Expect(0, print ? ["dump", src, "--all", "--print"] : ["dump", src, "--all"]);
        Assert.Equal(1, dump.OutLines.Count(l => l == "dupsort=1"));
        Assert.Equal(2 * tags.Count, SectionDataLines(dump.Out, "tags"));
        var load = Cli.ExpectWithInput(0, dump.Out, "load", "--create", dst);
        Assert.Contains($"loaded {tags.Count:N0} pairs into the multimap tree 'tags'\n", load.Out);
        EqualPairs(tags, ReadMulti(dst, "tags"));
        Equal(main, Read(dst));
        Assert.Equal("plain\ntags\tmultimap\n", Cli.Expect(0, "trees", dst).Out);
        // Byte-for-byte stable through the round trip.
        Assert.Equal(dump.Out, Cli.Expect(0, print ? ["dump", dst, "--all", "--print"] : ["dump", dst, "--all"]).Out);
    }

    /// <summary>Key and value lines in the section of <paramref name="tree"/>.</summary>
    private static int SectionDataLines(string dump, string tree)
    {
        var lines = dump.Split('\n');
        int start = Array.IndexOf(lines, $"database={tree}");
        int header = Array.IndexOf(lines, "HEADER=END", start);
        int end = Array.IndexOf(lines, "DATA=END", header);
        return end - header - 1;
    }

    [Fact]
    public void Dump_MultimapTree_WritesMdbDumpsDupsortHeader_AndOnePairOfLinesPerValue()
    {
        string src = _dir.File();
        WriteMulti(src, "tags", [(B("b"), B("x")), (B("a"), B("2")), (B("a"), B("1")), (B("a\0"), B("0"))]);
        Assert.Equal(
            "VERSION=3\nformat=print\ndatabase=tags\ntype=btree\nmapsize=16777216\nmaxreaders=126\nduplicates=1\ndupsort=1\ndb_pagesize=4096\nHEADER=END\n" +
            " a\n 1\n a\n 2\n a\\00\n 0\n b\n x\nDATA=END\n",
            Cli.Expect(0, "dump", src, "--tree", "tags", "--print").Out);
    }

    [Fact]
    public void Load_DupsortSection_AddsToAnExistingMultimapTree_AndCountsPairsAlreadyThere()
    {
        string dst = _dir.File();
        WriteMulti(dst, "tags", [(B("a"), B("1"))]);
        string text = "VERSION=3\nformat=print\ndatabase=tags\ntype=btree\ndupsort=1\nHEADER=END\n a\n 1\n a\n 2\n a\n 2\nDATA=END\n";
        Assert.Equal("loaded 1 pair into the multimap tree 'tags' (2 already present)\n", Cli.ExpectWithInput(0, text, "load", dst).Out);
        // Adding a value never replaces another, so -N makes no difference.
        Assert.Equal("loaded 0 pairs into the multimap tree 'tags' (3 already present)\n", Cli.ExpectWithInput(0, text, "load", dst, "-N").Out);
        EqualPairs([(B("a"), B("1")), (B("a"), B("2"))], ReadMulti(dst, "tags"));
    }

    [Fact]
    public void Load_UnnamedDupsortSection_WithTreeOption_MakesAMultimapTree()
    {
        string dst = _dir.File();
        // As mdb_dump writes an environment's main database when it is dupsort: both lines, no database=.
        string text = "VERSION=3\nformat=bytevalue\ntype=btree\nduplicates=1\ndupsort=1\ndupfixed=1\nHEADER=END\n 6b\n 31\n 6b\n 32\nDATA=END\n";
        Assert.Equal("loaded 2 pairs into the multimap tree 'm'\n", Cli.ExpectWithInput(0, text, "load", "--create", dst, "--tree", "m").Out);
        EqualPairs([(B("k"), B("1")), (B("k"), B("2"))], ReadMulti(dst, "m"));
        var r = Cli.ExpectWithInput(ExitCodes.Usage, text, "load", dst);
        Assert.Equal("error: input line 1: the section is a duplicate-key (dupsort) database, and the default tree holds one value per key; " +
                     "load it into a multimap tree with --tree NAME\n", r.Err);
        Assert.Empty(Read(dst));
    }

    [Fact]
    public void Load_KindMismatchWithAnExistingTree_IsAUsageError_AndLoadsNothing()
    {
        string dst = _dir.File();
        Write(dst, [KeyValuePair.Create(B("k"), B("v"))], tree: "plain");
        WriteMulti(dst, "tags", [(B("a"), B("1"))]);
        string dup = "VERSION=3\nformat=print\ndatabase=plain\ntype=btree\ndupsort=1\nHEADER=END\n k\n w\nDATA=END\n";
        var r = Cli.ExpectWithInput(ExitCodes.Usage, dup, "load", dst);
        Assert.StartsWith("error: input line 1: the section for 'plain' is a duplicate-key (dupsort) database, but tree 'plain' exists as a plain tree", r.Err);
        string plain = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n a\n 9\nDATA=END\n" +
                       "VERSION=3\nformat=print\ndatabase=tags\ntype=btree\nHEADER=END\n a\n 2\nDATA=END\n";
        r = Cli.ExpectWithInput(ExitCodes.Usage, plain, "load", dst);
        Assert.StartsWith("error: input line 8: the section for 'tags' holds one value per key, but tree 'tags' is a multimap tree", r.Err);
        Assert.Equal("v", System.Text.Encoding.UTF8.GetString(Read(dst, "plain")[B("k")]));
        EqualPairs([(B("a"), B("1"))], ReadMulti(dst, "tags"));
        Assert.Empty(Read(dst)); // the first section of the failed load is not kept either
    }

    [Fact]
    public void Load_APairTooLongForAMultimapTree_NamesTheLineAndTheLimit()
    {
        string dst = _dir.File();
        string value = new('v', 995);
        string text = $"VERSION=3\nformat=print\ndatabase=m\ntype=btree\ndupsort=1\nHEADER=END\n ok\n 1\n k\\00\n {value}\nDATA=END\n";
        var r = Cli.ExpectWithInput(ExitCodes.Usage, text, "load", "--create", dst);
        Assert.Equal("error: input line 10: the value is 995 bytes, and under this 2-byte key a multimap tree's values are at most 991 bytes " +
                     "(key + 1 for its 0x00 bytes + 2 + value must be at most 996)\n", r.Err);
        Assert.Empty(TreeNames(dst));
    }

    [Fact]
    public void Dump_WarnsAboutMultimapPairsLmdbCannotHold()
    {
        string src = _dir.File();
        WriteMulti(src, "m", [(B("a"), []), (B("a"), B("1")), (B("b"), []), (B("c"), new byte[512]), (B("c"), new byte[600])]);
        var r = Cli.Expect(0, "dump", src, "--tree", "m");
        Assert.Equal(
            "warning: 2 multimap value(s) are longer than 511 bytes, LMDB's limit for a dupsort database's values: mdb_load will refuse them\n" +
            "warning: 1 multimap key(s) hold an empty value beside other values; LMDB keeps an empty value only as a key's sole value, " +
            "so mdb_load will fail on them or drop the empty value\n", r.Err);
    }
}
