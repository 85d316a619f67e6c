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
        long sum = new[] { "  meta", "  branch", "  leaf", "  overflow", "  catalog", "  free", "  free map", "  savepoints" }
            .Sum(k => long.Parse(Field(r, k).Replace(",", "")));
        Assert.Equal(pages, sum);
        Assert.Contains(r.OutLines, l => l.StartsWith("(default)") && l.Contains(" 1,000 "));
        Assert.Contains(r.OutLines, l => l.StartsWith("big ") && l.Contains(" 10 "));
    }

    [Fact]
    public void Stat_WithPersistentSavepoints_CountsTheKeptPagesAndListsThem()
    {
        string path = _dir.File();
        Write(path, Enumerable.Range(0, 2000).Select(i => KeyValuePair.Create(B($"k{i:D6}"), new byte[100])));
        long id;
        using (var db = KvDatabase.Open(path))
        {
            id = db.CreatePersistentSavepoint();
            using var tx = db.BeginWrite();
            for (int i = 0; i < 2000; i++) tx.Put(B($"k{i:D6}"), new byte[120]); // rewrites every leaf: the old ones are kept
            tx.Commit();
        }
        var r = Cli.Expect(0, "stat", path);
        long pages = long.Parse(Field(r, "pages").Split(' ')[0].Replace(",", ""));
        long Stat(string name) => long.Parse(Field(r, name).Split(' ')[0].Replace(",", ""));
        long kept = Stat("  savepoints");
        Assert.True(kept > 20, r.Out);
        Assert.Contains("1 persistent savepoint", Field(r, "  savepoints"));
        Assert.Equal(pages, new[] { "  meta", "  branch", "  leaf", "  overflow", "  catalog", "  free", "  free map", "  savepoints" }.Sum(Stat));
        Assert.Contains(r.OutLines, l => l.TrimStart().StartsWith(id.ToString(System.Globalization.CultureInfo.InvariantCulture) + " ") && l.Contains(" 2,000 "));
        var check = Cli.Expect(0, "check", path);
        Assert.Contains($", {kept} kept for 1 savepoint(s)", check.Out);
    }

    [Fact]
    public void StatAndCheck_ReportTheSameFreeAndFreeMapCounts()
    {
        string path = _dir.File();
        Write(path, Enumerable.Range(0, 3000).Select(i => KeyValuePair.Create(B($"k{i:D6}"), new byte[100])));
        using (var db = KvDatabase.Open(path))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 1500; i++) tx.Delete(B($"k{i:D6}"));
            tx.Commit(); // frees pages: the file now has both free pages and free-map pages
        }
        var stat = Cli.Expect(0, "stat", path);
        long Stat(string name) => long.Parse(Field(stat, name).Split(' ')[0].Replace(",", ""));
        long free = Stat("  free"), freeMap = Stat("  free map");
        Assert.True(free > 0 && freeMap > 0, stat.Out);
        long inTrees = Stat("  branch") + Stat("  leaf") + Stat("  overflow") + Stat("  catalog");

        var check = Cli.Expect(0, "check", path);
        var m = System.Text.RegularExpressions.Regex.Match(check.Out,
            @"^OK: txn 2, (?<pages>[\d,]+) pages \((?<trees>[\d,]+) in trees, (?<free>[\d,]+) free, (?<map>[\d,]+) free map\), (?<entries>[\d,]+) entries\n$");
        Assert.True(m.Success, check.Out);
        long Check(string group) => long.Parse(m.Groups[group].Value.Replace(",", ""));
        Assert.Equal(free, Check("free"));
        Assert.Equal(freeMap, Check("map"));
        Assert.Equal(inTrees, Check("trees"));
        Assert.Equal(Stat("pages"), Check("pages"));
        Assert.Equal(Stat("entries"), Check("entries"));
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
