using System.Buffers.Binary;
using System.Text;
using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>dump and load keep a tree's key order (the <c>mmapkv_keyorder=</c> header line), refuse what they
/// cannot recreate, and mdb_load takes the line as an unknown keyword it ignores.</summary>
public sealed class DumpLoadKeyOrderTests(ITestOutputHelper output) : IDisposable
{
    private sealed class Odd : IKeyComparer
    {
        public string Name => "cli-tests.odd/1";
        public int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => b.SequenceCompareTo(a);
    }

    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static byte[] I64(long v)
    {
        var k = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(k, v);
        return k;
    }

    private static byte[] U64(ulong v)
    {
        var k = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(k, v);
        return k;
    }

    /// <summary>A file with a Reverse, an Int64, a UInt64 and a bytewise tree.</summary>
    private string MakeOrdered()
    {
        string path = _dir.File("ordered.mkv");
        using var db = KvDatabase.Open(path);
        using var tx = db.BeginWrite();
        var rev = tx.OpenTree("rev", KeyOrder.Reverse);
        foreach (var (k, v) in DumpLoadTests.BinaryEntries(5, 200)) rev.Put(k, v);
        var ints = tx.OpenTree("ints", KeyOrder.Int64);
        foreach (long n in new[] { long.MinValue, -1000, -5, -1, 0, 1, 7, 100, long.MaxValue }) ints.Put(I64(n), B($"i{n}"));
        var uints = tx.OpenTree("uints", KeyOrder.UInt64);
        foreach (ulong n in new ulong[] { 0, 1, 255, 256, 1UL << 63, ulong.MaxValue }) uints.Put(U64(n), B($"u{n}"));
        tx.OpenTree("plain").Put("k"u8, "v"u8);
        tx.Commit();
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DumpAll_ThenLoad_RecreatesEachTreeWithItsOrder(bool print)
    {
        string src = MakeOrdered(), dst = _dir.File("dst.mkv");
        var dump = Cli.Expect(0, print ? ["dump", src, "--all", "--print"] : ["dump", src, "--all"]);
        Assert.Equal(["mmapkv_keyorder=Int64", "mmapkv_keyorder=Reverse", "mmapkv_keyorder=UInt64"],
            dump.OutLines.Where(l => l.StartsWith("mmapkv_keyorder=", StringComparison.Ordinal)).ToArray());
        Cli.ExpectWithInput(0, dump.Out, "load", "--create", dst);
        Assert.Equal("ints\tInt64\nplain\tBytewise\nrev\tReverse\nuints\tUInt64\n", Cli.Expect(0, "trees", dst, "--order").Out);
        foreach (string tree in new[] { "ints", "plain", "rev", "uints" })
        {
            Equal(Read(src, tree), Read(dst, tree));
            // In the tree's order, not only the same set: scan walks the new tree as it walked the old one.
            Assert.Equal(Cli.Expect(0, "scan", src, "--tree", tree, "--format", "hex").Out, Cli.Expect(0, "scan", dst, "--tree", tree, "--format", "hex").Out);
        }
        Assert.Equal(dump.Out, Cli.Expect(0, print ? ["dump", dst, "--all", "--print"] : ["dump", dst, "--all"]).Out);
    }

    [Fact]
    public void Dump_OfAnInt64Tree_WritesTheOrderLine_AndKeysInNumericOrder()
    {
        string src = _dir.File();
        using (var db = KvDatabase.Open(src))
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("ints", KeyOrder.Int64);
            t.Put(I64(7), "a"u8);
            t.Put(I64(-3), "b"u8);
            tx.Commit();
        }
        Assert.Equal(
            "VERSION=3\nformat=bytevalue\ndatabase=ints\ntype=btree\nmapsize=16777216\nmaxreaders=126\nmmapkv_keyorder=Int64\ndb_pagesize=4096\nHEADER=END\n" +
            " fdffffffffffffff\n 62\n 0700000000000000\n 61\nDATA=END\n",
            Cli.Expect(0, "dump", src, "--tree", "ints").Out);
    }

    [Fact]
    public void Dump_OfACustomOrderedTree_IsAUsageError_AndWritesNothing()
    {
        string src = _dir.File();
        using (var db = KvDatabase.Open(src))
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("odd", new Odd()).Put("a"u8, "A"u8);
            tx.OpenTree("plain").Put("k"u8, "v"u8);
            tx.Commit();
        }
        var r = Cli.Expect(ExitCodes.Usage, "dump", src, "--tree", "odd");
        Assert.Equal("", r.Out);
        Assert.Equal("error: tree 'odd' is ordered by the application's own comparer, and the library walks such a tree only with that comparer, " +
                     "which mmapkv does not have; dump it from the application\n", r.Err);
        string outFile = _dir.File("all.txt");
        r = Cli.Expect(ExitCodes.Usage, "dump", src, "--all", "-o", outFile);
        Assert.EndsWith("; dump it from the application, or dump the other trees one by one with --tree\n", r.Err);
        Assert.False(File.Exists(outFile)); // refused before the output file is created
        Cli.Expect(0, "dump", src, "--tree", "plain");
    }

    [Fact]
    public void Load_OfACustomOrderSection_IsAUsageErrorNamingTheReason()
    {
        string dst = _dir.File();
        Cli.Expect(0, "put", "--create", dst, "pre", "x");
        string text = "VERSION=3\nformat=print\ndatabase=odd\ntype=btree\nmmapkv_keyorder=Custom\nHEADER=END\n a\n A\nDATA=END\n";
        var r = Cli.ExpectWithInput(ExitCodes.Usage, text, "load", dst);
        Assert.Equal("error: input line 1: the section for 'odd' is a tree ordered by an application's own comparer (mmapkv_keyorder=Custom); " +
                     "such a tree can only be created through the library, with that comparer, which mmapkv does not have\n", r.Err);
        Assert.Empty(TreeNames(dst));
    }

    [Fact]
    public void Load_IntoAnExistingCustomTree_IsAUsageError()
    {
        string dst = _dir.File();
        using (var db = KvDatabase.Open(dst))
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("odd", new Odd()).Put("a"u8, "A"u8);
            tx.Commit();
        }
        var r = Cli.ExpectWithInput(ExitCodes.Usage, "VERSION=3\nformat=print\ndatabase=odd\ntype=btree\nHEADER=END\n b\n B\nDATA=END\n", "load", dst);
        Assert.Equal("error: input line 1: the section for 'odd': tree 'odd' is ordered by an application's own comparer, so mmapkv cannot write it\n", r.Err);
    }

    [Fact]
    public void Load_OrderMismatches_AreUsageErrors()
    {
        string dst = _dir.File();
        Write(dst, [KeyValuePair.Create(B("k"), B("v"))], tree: "plain");
        // A stated order must match an existing tree's.
        var r = Cli.ExpectWithInput(ExitCodes.Usage, "VERSION=3\nformat=print\ndatabase=plain\ntype=btree\nmmapkv_keyorder=Reverse\nHEADER=END\nDATA=END\n", "load", dst);
        Assert.Equal("error: input line 1: the section for 'plain' is ordered Reverse (mmapkv_keyorder), but tree 'plain' exists ordered Bytewise; a tree keeps its order\n", r.Err);
        // The default tree is bytewise; --tree gives such a section a home.
        string rev = "VERSION=3\nformat=print\ntype=btree\nmmapkv_keyorder=Reverse\nHEADER=END\n a\n 1\n b\n 2\nDATA=END\n";
        r = Cli.ExpectWithInput(ExitCodes.Usage, rev, "load", dst);
        Assert.Equal("error: input line 1: the section is ordered Reverse, and the default tree is always ordered bytewise; load it into a named tree with --tree NAME\n", r.Err);
        Cli.ExpectWithInput(0, rev, "load", dst, "--tree", "r");
        Assert.Equal(["b", "a"], Cli.Expect(0, "scan", dst, "--tree", "r", "-k").OutLines);
        // A multimap tree is bytewise: dupsort with another order is contradictory.
        r = Cli.ExpectWithInput(ExitCodes.Usage, "VERSION=3\nformat=print\ndatabase=m\ntype=btree\ndupsort=1\nmmapkv_keyorder=Int64\nHEADER=END\nDATA=END\n", "load", dst);
        Assert.Equal("error: input line 6: mmapkv_keyorder=Int64 in a duplicate-key (dupsort) section: a multimap tree is always ordered bytewise\n", r.Err);
        // A section without the line (LMDB's, or an older dump) loads into an existing tree of any built-in order.
        Cli.ExpectWithInput(0, "VERSION=3\nformat=print\ndatabase=r\ntype=btree\nHEADER=END\n c\n 3\nDATA=END\n", "load", dst);
        Assert.Equal(["c", "b", "a"], Cli.Expect(0, "scan", dst, "--tree", "r", "-k").OutLines);
        Assert.Equal(["plain", "r"], TreeNames(dst));
    }

    [Fact]
    public void Load_IntoAnInt64Tree_AKeyThatIsNot8Bytes_NamesTheLine()
    {
        string dst = _dir.File();
        Cli.Expect(0, "put", "--create", dst, "pre", "x");
        string text = "VERSION=3\nformat=bytevalue\ndatabase=ints\ntype=btree\nmmapkv_keyorder=Int64\nHEADER=END\n 0100000000000000\n 61\n 0102\n 62\nDATA=END\n";
        var r = Cli.ExpectWithInput(ExitCodes.Usage, text, "load", dst);
        Assert.Equal("error: input line 9: the key is 2 bytes, and tree 'ints' is ordered Int64, whose keys are 8 bytes\n", r.Err);
        Assert.Empty(TreeNames(dst));
    }

    [Fact]
    public void MdbLoad_IgnoresTheOrderLineWithAWarning_AndLoadsTheKeysAsBytes()
    {
        string src = MakeOrdered();
        string dumpFile = _dir.File("rev.txt");
        Cli.Expect(0, "dump", src, "--tree", "rev", "-o", dumpFile);
        Assert.Contains("\nmmapkv_keyorder=Reverse\n", File.ReadAllText(dumpFile, Encoding.Latin1));
        string env = Path.Combine(_dir.Path, "env");
        Directory.CreateDirectory(env);
        var (code, _, err) = LmdbTools.Run("mdb_load", "-f", dumpFile, env);
        output.WriteLine($"mdb_load: exit {code}: {err.Trim()}");
        Assert.True(code == 0, err);
        Assert.Contains("unrecognized keyword ignored: mmapkv_keyorder", err);
        var back = LmdbTools.Parse(LmdbTools.RunOk("mdb_dump", "-s", "rev", env)).Single();
        Assert.Equal("rev", back.Name);
        Equal(Read(src, "rev"), back.Entries);
        // LMDB's dump of it has no order line (LMDB ordered it bytewise), so it loads as a bytewise tree.
        string dst = _dir.File("dst.mkv");
        Cli.ExpectWithInput(0, LmdbTools.RunOk("mdb_dump", "-s", "rev", env), "load", "--create", dst);
        Assert.Equal("rev\tBytewise\n", Cli.Expect(0, "trees", dst, "--order").Out);
    }
}
