using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

public sealed class StatCheckTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static string Field(CliResult r, string name) =>
        r.OutLines.Single(l => l.StartsWith(name + "  ", StringComparison.Ordinal))[name.Length..].Trim();

    [Fact]
    public void Stat_ShowsPagesByKindEntriesPerTreeAndTxnIds()
    {
        string path = _dir.File();
        Write(path, Enumerable.Range(0, 2000).Select(i => KeyValuePair.Create(B($"k{i:D6}"), new byte[100])));
        Write(path, Enumerable.Range(0, 10).Select(i => KeyValuePair.Create(B($"t{i}"), new byte[5000])), tree: "big");
        using (var db = KvDatabase.Open(path))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 1000; i++) tx.Delete(B($"k{i:D6}"));
            tx.Commit(); // frees pages, so the free count is not zero
        }
        var r = Cli.Expect(0, "stat", path);
        Assert.Equal(path, Field(r, "file"));
        Assert.Equal($"{new FileInfo(path).Length:N0}", Field(r, "file size").Split(' ')[0]);
        Assert.Equal("4,096 bytes", Field(r, "page size"));
        Assert.Equal("3", Field(r, "last txn id"));
        Assert.Equal("3", Field(r, "durable txn id"));
        Assert.Equal("1,010", Field(r, "entries"));
        Assert.Equal("2", Field(r, "depth"));
        Assert.Equal("2", Field(r, "  meta"));
        Assert.NotEqual("0", Field(r, "  overflow"));
        Assert.NotEqual("0", Field(r, "  free"));
        Assert.Equal("1 named, plus the default tree", Field(r, "trees"));
        // Every page up to the high-water mark is accounted for by kind.
        long pages = long.Parse(Field(r, "pages").Split(' ')[0].Replace(",", ""));
        long sum = new[] { "  meta", "  branch", "  leaf", "  overflow", "  catalog", "  free", "  free map" }
            .Sum(k => long.Parse(Field(r, k).Replace(",", "")));
        Assert.Equal(pages, sum);
        Assert.Contains(r.OutLines, l => l.StartsWith("(default)") && l.Contains(" 1,000 "));
        Assert.Contains(r.OutLines, l => l.StartsWith("big ") && l.Contains(" 10 "));
    }

    [Fact]
    public void Check_OnAHealthyDatabase_PrintsOkAndExits0()
    {
        string path = _dir.File();
        Cli.Expect(0, "put", "--create", path, "a", "b");
        var r = Cli.Expect(0, "check", path);
        Assert.StartsWith("OK: txn 1,", r.Out);
        Assert.Equal("", r.Err);
    }
}
