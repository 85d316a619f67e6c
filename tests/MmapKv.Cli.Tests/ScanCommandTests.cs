using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

public sealed class ScanCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _db;

    public ScanCommandTests()
    {
        _db = _dir.File();
        var entries = new[] { "apple", "apricot", "banana", "blueberry", "cherry", "date" }
            .Select(k => KeyValuePair.Create(B(k), B(k.ToUpperInvariant())));
        Write(_db, entries);
    }

    public void Dispose() => _dir.Dispose();

    private string[] Keys(params string[] args) =>
        Cli.Expect(0, ["scan", _db, "--keys-only", .. args]).OutLines;

    [Fact]
    public void Scan_PrintsKeyTabValueInOrder()
    {
        var r = Cli.Expect(0, "scan", _db);
        Assert.Equal("apple\tAPPLE", r.OutLines[0]);
        Assert.Equal(6, r.OutLines.Length);
        Assert.Equal("", r.Err);
    }

    [Fact]
    public void Prefix_SelectsKeysThatStartWithIt_ForwardAndReverse()
    {
        Assert.Equal(["apple", "apricot"], Keys("--prefix", "ap"));
        Assert.Equal(["apricot", "apple"], Keys("--prefix", "ap", "--reverse"));
        Assert.Equal(["blueberry", "banana"], Keys("--prefix", "b", "-r"));
        Assert.Empty(Keys("--prefix", "zz"));
        Assert.Empty(Keys("--prefix", "zz", "--reverse"));
    }

    [Fact]
    public void FromTo_IsHalfOpen_ForwardAndReverse()
    {
        Assert.Equal(["banana", "blueberry", "cherry"], Keys("--from", "b", "--to", "d"));
        Assert.Equal(["cherry", "blueberry", "banana"], Keys("--from", "b", "--to", "d", "--reverse"));
        Assert.Equal(["banana"], Keys("--from", "banana", "--to", "blueberry"));
        Assert.Equal(["cherry", "date"], Keys("--from", "c"));
        Assert.Equal(["apple", "apricot"], Keys("--to", "b"));
        Assert.Equal(["date", "cherry"], Keys("--from", "c", "-r"));
        Assert.Empty(Keys("--from", "e"));
    }

    [Fact]
    public void Limit_StopsAfterNEntries()
    {
        Assert.Equal(["apple", "apricot"], Keys("--limit", "2"));
        Assert.Equal(["date"], Keys("--limit", "1", "--reverse"));
        Assert.Empty(Keys("--limit", "0"));
    }

    [Fact]
    public void Bounds_LongerThanTheLargestKey_StillWork()
    {
        // Seek refuses keys over MaxKeySize (996 with 4 KiB pages); the scan seeks to the truncated bound, and the
        // truncated bound itself is a key here, the one edge case.
        string db = _dir.File("long.mkv");
        string cut = "b" + new string('x', 995), longB = "b" + new string('x', 2000);
        Write(db, [KeyValuePair.Create(B("a"), B("1")), KeyValuePair.Create(B(cut), B("2")), KeyValuePair.Create(B("c"), B("3"))]);
        string[] Scan(params string[] args) => Cli.Expect(0, ["scan", db, "--keys-only", .. args]).OutLines;
        Assert.Equal(["c"], Scan("--from", longB));
        Assert.Equal(["a", cut], Scan("--to", longB));
        Assert.Equal([cut, "a"], Scan("--to", longB, "--reverse"));
        Assert.Equal(["c"], Scan("--from", longB, "--reverse"));
        Assert.Empty(Scan("--prefix", longB));
        Assert.Equal([cut], Scan("--prefix", "bx"));
    }

    [Fact]
    public void PrefixOfFFBytes_ReverseStartsAtTheLastKey()
    {
        string db = _dir.File("ff.mkv");
        Write(db, [KeyValuePair.Create(new byte[] { 0xFF }, B("1")), KeyValuePair.Create(new byte[] { 0xFF, 0xFF, 0x01 }, B("2")), KeyValuePair.Create(new byte[] { 0x01 }, B("3"))]);
        var r = Cli.Expect(0, "scan", db, "--prefix", "ff", "--format", "hex", "--reverse");
        Assert.Equal(["ffff01\t32", "ff\t31"], r.OutLines);
    }

    [Fact]
    public void Utf8Output_EscapesWhatWouldBreakTheLine()
    {
        string db = _dir.File("esc.mkv");
        Write(db, [KeyValuePair.Create(B("tab\tkey"), new byte[] { (byte)'a', (byte)'\n', 0xFF, (byte)'\\', 0x01 })]);
        Assert.Equal("tab\\tkey\ta\\n\\xff\\\\\\x01\n", Cli.Expect(0, "scan", db).Out);
        Assert.Equal("746162096b6579\t610aff5c01\n", Cli.Expect(0, "scan", db, "--format", "hex").Out);
    }

    [Fact]
    public void Tree_ScansTheNamedTree_AndAMissingOneExits1()
    {
        Write(_db, [KeyValuePair.Create(B("x"), B("y"))], tree: "t");
        Assert.Equal("x\ty\n", Cli.Expect(0, "scan", _db, "--tree", "t").Out);
        Assert.Equal("error: no tree named 'u'\n", Cli.Expect(1, "scan", _db, "--tree", "u").Err);
    }

    [Fact]
    public void PrefixWithFrom_IsAUsageError()
    {
        var r = Cli.Expect(2, "scan", _db, "--prefix", "a", "--from", "b");
        Assert.Contains("--prefix cannot be combined with --from or --to.", r.Err);
    }
}
