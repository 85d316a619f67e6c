namespace MmapKv.Cli.Tests;

/// <summary>The tool on multimap trees: <c>trees</c> marks them, <c>scan --tree</c> prints decoded pairs, and the
/// byte commands refuse them with the library's message.</summary>
public sealed class MultiTreeCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string MakeDb()
    {
        string path = _dir.File();
        using var db = KvDatabase.Open(path);
        using var tx = db.BeginWrite();
        var m = tx.OpenMultiTree("tags");
        m.Add("b"u8, "x"u8);
        m.Add("a"u8, "2"u8);
        m.Add("a"u8, "1"u8);
        m.Add("a\0"u8, "0"u8); // a key with a 0x00 byte is printed decoded
        tx.OpenTree("plain").Put("k"u8, "v"u8);
        tx.Commit();
        return path;
    }

    [Fact]
    public void Trees_MarksMultimapTrees_AndCountsTheirPairs()
    {
        string db = MakeDb();
        Assert.Equal("plain\ntags\tmultimap\n", Cli.Expect(0, "trees", db).Out);
        Assert.Equal("plain\t1\ntags\t4\tmultimap\n", Cli.Expect(0, "trees", db, "--count").Out);
    }

    [Fact]
    public void Scan_OfAMultimapTree_PrintsKeyValuePairsInOrder()
    {
        string db = MakeDb();
        Assert.Equal("a\t1\na\t2\na\\x00\t0\nb\tx\n", Cli.Expect(0, "scan", db, "--tree", "tags").Out);
        Assert.Equal("b\tx\na\\x00\t0\na\t2\na\t1\n", Cli.Expect(0, "scan", db, "--tree", "tags", "--reverse").Out);
        Assert.Equal("a\t1\na\t2\na\\x00\t0\n", Cli.Expect(0, "scan", db, "--tree", "tags", "--to", "b").Out);
        Assert.Equal("b\tx\n", Cli.Expect(0, "scan", db, "--tree", "tags", "--prefix", "b").Out);
        Assert.Equal("a\na\n", Cli.Expect(0, "scan", db, "--tree", "tags", "-k", "-n", "2").Out);
    }

    [Fact]
    public void ByteCommands_OnAMultimapTree_AreAUsageErrorWithTheReason()
    {
        string db = MakeDb();
        foreach (var args in new[] { new[] { "get", db, "a", "--tree", "tags" }, ["put", db, "a", "3", "--tree", "tags"], ["del", db, "a", "--tree", "tags"] })
        {
            var r = Cli.Expect(ExitCodes.Usage, args);
            Assert.Contains("multimap", r.Err);
            Assert.DoesNotContain("unexpected", r.Err);
        }
        Assert.Equal("a\t1\na\t2\na\\x00\t0\nb\tx\n", Cli.Expect(0, "scan", db, "--tree", "tags").Out); // unchanged
    }

    [Fact]
    public void Dump_OfAMultimapTree_WritesADupsortSection()
    {
        string db = MakeDb();
        var all = Cli.Expect(0, "dump", db, "--all", "--print");
        Assert.Equal("", all.Err);
        Assert.Contains("database=tags\ntype=btree\nmapsize=16777216\nmaxreaders=126\nduplicates=1\ndupsort=1\ndb_pagesize=4096\nHEADER=END\n" +
                        " a\n 1\n a\n 2\n a\\00\n 0\n b\n x\nDATA=END\n", all.Out);
        Assert.Equal(all.Out[all.Out.IndexOf("VERSION=3\nformat=print\ndatabase=tags", StringComparison.Ordinal)..],
            Cli.Expect(0, "dump", db, "--tree", "tags", "--print").Out);
    }
}
