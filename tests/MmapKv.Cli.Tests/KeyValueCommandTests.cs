using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

public sealed class KeyValueCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Put_CreatesTheFile_AndGetPrintsTheValue()
    {
        string db = _dir.File();
        var put = Cli.Expect(0, "put", "--create", db, "hello", "world");
        Assert.Equal("", put.Out);
        Assert.Equal("", put.Err);
        Assert.Equal("world\n", Cli.Expect(0, "get", db, "hello").Out);
        Cli.Expect(0, "put", db, "hello", "again");
        Assert.Equal("again\n", Cli.Expect(0, "get", db, "hello").Out);
    }

    [Fact]
    public void Get_MissingKey_Exits1WithOneLine()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "a", "1");
        var r = Cli.Expect(1, "get", db, "b");
        Assert.Equal("", r.Out);
        Assert.Equal("error: key not found\n", r.Err);
    }

    [Fact]
    public void Del_RemovesTheKey_AndAMissingKeyExits1()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "a", "1");
        Cli.Expect(0, "del", db, "a");
        Cli.Expect(1, "get", db, "a");
        Assert.Equal("error: key not found\n", Cli.Expect(1, "del", db, "a").Err);
    }

    [Fact]
    public void Del_OnAMissingFile_Exits3AndCreatesNothing()
    {
        string db = _dir.File("absent.mkv");
        var r = Cli.Expect(3, "del", db, "a");
        Assert.Equal($"error: database file not found: {db}\n", r.Err);
        Assert.False(File.Exists(db));
    }

    [Fact]
    public void Put_OnAMissingFileWithoutCreate_Exits3AndCreatesNothing()
    {
        string db = _dir.File("typo.mkv");
        var r = Cli.Expect(3, "put", db, "k", "v");
        Assert.Equal("", r.Out);
        Assert.Equal($"error: database file not found: {db} (pass --create to create a new database)\n", r.Err);
        Assert.False(File.Exists(db));
        Assert.Empty(Directory.GetFiles(_dir.Path)); // no temporary file left behind either
    }

    [Fact]
    public void Put_WithCreate_OnAnExistingFile_KeepsItsData()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "a", "1");
        Cli.Expect(0, "put", db, "b", "2", "--create"); // harmless when the file exists; anywhere on the line
        Assert.Equal("a\t1\nb\t2\n", Cli.Expect(0, "scan", db).Out);
    }

    [Theory]
    [InlineData("hex", "00ff10", "deadbeef")]
    [InlineData("base64", "AP8Q", "3q2+7w==")]
    public void Formats_DecodeArgumentsAndEncodeOutput(string format, string key, string value)
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, key, value, "--format", format);
        var map = Read(db);
        Assert.Equal(new byte[] { 0x00, 0xFF, 0x10 }, map.Keys.Single());
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, map.Values.Single());
        Assert.Equal(value + "\n", Cli.Expect(0, "get", db, key, "--format", format).Out);
    }

    [Fact]
    public void Hex_AcceptsA0xPrefixAndUpperCase()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "0xABCD", "00", "--format", "hex");
        Assert.Equal("00\n", Cli.Expect(0, "get", db, "abcd", "--format", "hex").Out);
    }

    [Fact]
    public void Tree_OnPutGetDel_UsesTheNamedTree()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "k", "in-tree", "--tree", "t1");
        Cli.Expect(0, "put", db, "k", "in-default");
        Assert.Equal("in-tree\n", Cli.Expect(0, "get", db, "k", "--tree", "t1").Out);
        Assert.Equal("in-default\n", Cli.Expect(0, "get", db, "k").Out);
        Cli.Expect(0, "del", db, "k", "-t", "t1");
        Cli.Expect(1, "get", db, "k", "--tree", "t1");
        Assert.Equal("in-default\n", Cli.Expect(0, "get", db, "k").Out);
        Assert.Equal("error: no tree named 'nope'\n", Cli.Expect(1, "get", db, "k", "--tree", "nope").Err);
        Assert.Equal("error: no tree named 'nope'\n", Cli.Expect(1, "del", db, "k", "--tree", "nope").Err);
    }

    [Fact]
    public void Trees_ListsNamesInByteOrder_WithCounts()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "k", "v", "--tree", "zeta");
        Cli.Expect(0, "put", db, "k", "v", "--tree", "alpha");
        Cli.Expect(0, "put", db, "k2", "v", "--tree", "alpha");
        Assert.Equal("alpha\nzeta\n", Cli.Expect(0, "trees", db).Out);
        Assert.Equal("alpha\t2\nzeta\t1\n", Cli.Expect(0, "trees", db, "--count").Out);
    }

    [Fact]
    public void Trees_OnADatabaseWithoutNamedTrees_PrintsNothing()
    {
        string db = _dir.File();
        Cli.Expect(0, "put", "--create", db, "k", "v");
        Assert.Equal("", Cli.Expect(0, "trees", db).Out);
    }
}
