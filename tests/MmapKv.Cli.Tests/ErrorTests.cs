using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>Exit codes and messages for the failures a user meets: each is one line on stderr, with no stack trace.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static void AssertOneLine(CliResult r, string startsWith)
    {
        Assert.Equal("", r.Out);
        Assert.StartsWith(startsWith, r.Err);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Theory]
    [InlineData("stat")]
    [InlineData("check")]
    [InlineData("trees")]
    [InlineData("scan")]
    [InlineData("dump")]
    public void MissingFile_Exits3(string command)
    {
        string path = _dir.File("absent.mkv");
        var r = Cli.Expect(ExitCodes.FileNotFound, command, path);
        AssertOneLine(r, $"error: database file not found: {path}");
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void MissingFile_ForGetAndCopy_Exits3()
    {
        string path = _dir.File("absent.mkv");
        AssertOneLine(Cli.Expect(3, "get", path, "k"), "error: database file not found");
        AssertOneLine(Cli.Expect(3, "copy", path, _dir.File("dest.mkv")), "error: database file not found");
    }

    [Fact]
    public void ADirectory_Exits3()
    {
        AssertOneLine(Cli.Expect(3, "stat", _dir.Path), $"error: {_dir.Path} is a directory");
    }

    [Fact]
    public void NotADatabase_Exits4()
    {
        string path = _dir.File("garbage.mkv");
        var bytes = new byte[3 * 4096];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        foreach (string command in new[] { "stat", "check", "scan", "dump", "trees" })
            AssertOneLine(Cli.Expect(ExitCodes.Corrupt, command, path), "error: corrupt database: Not an MmapKv database");
        AssertOneLine(Cli.Expect(4, "put", path, "k", "v"), "error: corrupt database:");
    }

    [Fact]
    public void EmptyFile_Exits4()
    {
        string path = _dir.File("empty.mkv");
        File.WriteAllBytes(path, []);
        AssertOneLine(Cli.Expect(4, "stat", path), "error: corrupt database: The file is 0 bytes");
    }

    [Fact]
    public void DamagedPage_CheckListsProblemsAndExits1_ReadsThatHitItExit4()
    {
        string path = _dir.File();
        Write(path, Enumerable.Range(0, 3000).Select(i => KeyValuePair.Create(B($"key{i:D5}"), B($"value-{i}-" + new string('x', 40)))));
        // A later commit that leaves the default tree alone: page 10 then belongs to an older, durable commit. A
        // page of the newest commit that is not on disk as written makes the open fall back to the previous commit
        // instead (format 2's commit list), and the damage would never be read.
        using (var db = KvDatabase.Open(path))
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("other").Put(B("k"), B("v"));
            tx.Commit();
        }
        Assert.Equal(0, Cli.Run("check", path).ExitCode);
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            f.Position = 10 * 4096 + 200; // inside a leaf: the meta pages stay valid, so the file still opens
            f.Write("GARBAGEGARBAGE"u8);
        }
        var check = Cli.Expect(1, "check", path);
        Assert.Matches(@"(?m)^problem: default tree: page 10\b.*checksum", check.Out);
        Assert.Contains("FAILED:", check.Out);
        Assert.Equal("", check.Err);
        var scan = Cli.Expect(4, "scan", path);
        Assert.StartsWith("error: corrupt database: page 10", scan.Err);
        Assert.Single(scan.Err.TrimEnd('\n').Split('\n'));
        // Pages are verified as they are read: the first key past the last one scan printed lives on the bad page.
        string next = $"key{int.Parse(scan.OutLines[^1][3..8]) + 1:D5}";
        Assert.StartsWith("error: corrupt database: page 10", Cli.Expect(4, "get", path, next).Err);
        Assert.Equal("value-0-" + new string('x', 40) + "\n", Cli.Expect(0, "get", path, "key00000").Out);
        Assert.StartsWith("error: corrupt database: page 10", Cli.Expect(4, "dump", path).Err);
    }

    [Fact]
    public void LockedFile_Exits5()
    {
        string path = _dir.File();
        Cli.Expect(0, "put", "--create", path, "k", "v");
        // An application that opened the database exclusively: no other opener is allowed.
        using var writer = KvDatabase.Open(path, new KvOptions { Exclusive = true });
        foreach (var args in new[] { new[] { "stat", path }, ["get", path, "k"], ["put", path, "k", "v2"], ["check", path], ["copy", path, _dir.File("copy.mkv")] })
        {
            var r = Cli.Expect(ExitCodes.Locked, args);
            AssertOneLine(r, "error: database is locked:");
        }
        Assert.False(File.Exists(_dir.File("copy.mkv")));
    }

    [Fact]
    public void Commands_WorkOnADatabaseAnotherProcessHasOpen()
    {
        string path = _dir.File();
        Cli.Expect(0, "put", "--create", path, "k", "v");
        using var app = KvDatabase.Open(path); // shared, as an application opens it by default
        using var reader = app.BeginRead();
        Assert.Equal("v\n", Cli.Expect(0, "get", path, "k").Out);
        Cli.Expect(0, "put", path, "k", "v2");
        // The application's open reader keeps its snapshot; a new one sees the tool's commit.
        Assert.True(reader.TryGet("k"u8, out var old));
        Assert.Equal("v"u8.ToArray(), old.ToArray());
        using (var fresh = app.BeginRead())
        {
            Assert.True(fresh.TryGet("k"u8, out var now));
            Assert.Equal("v2"u8.ToArray(), now.ToArray());
        }
        using (var tx = app.BeginWrite())
        {
            tx.Put("app"u8, "1"u8);
            tx.Commit();
        }
        Assert.Equal("1\n", Cli.Expect(0, "get", path, "app").Out);
        Cli.Expect(0, "check", path);
        Cli.Expect(0, "copy", path, _dir.File("copy.mkv"));
        Assert.Equal("1\n", Cli.Expect(0, "get", _dir.File("copy.mkv"), "app").Out);
    }

    [Fact]
    public void BadFormatArgument_Exits2()
    {
        string path = _dir.File();
        Cli.Expect(0, "put", "--create", path, "k", "v");
        var r = Cli.Expect(ExitCodes.Usage, "get", path, "k", "--format", "yaml");
        Assert.Equal("", r.Out);
        Assert.Contains("error: Argument 'yaml' not recognized. Must be one of: 'utf8' 'hex' 'base64'", r.Err);
    }

    [Theory]
    [InlineData("hex", "abc", "KEY is not valid hex")]
    [InlineData("hex", "zz", "KEY is not valid hex")]
    [InlineData("base64", "***", "KEY is not valid base64")]
    public void MalformedKeyText_Exits2(string format, string key, string message)
    {
        string path = _dir.File();
        AssertOneLine(Cli.Expect(2, "put", "--create", path, key, "00", "--format", format), $"error: {message}");
        Assert.False(File.Exists(path)); // the input is checked before the file is created
    }

    [Fact]
    public void TooLongOrEmptyKey_Exits2()
    {
        string path = _dir.File();
        AssertOneLine(Cli.Expect(2, "put", "--create", path, new string('k', 997), "v"), "error: the key is 997 bytes; this database allows at most 996");
        AssertOneLine(Cli.Expect(2, "put", path, "", "v"), "error: the key is empty");
        AssertOneLine(Cli.Expect(2, "get", path, new string('k', 997)), "error: the key is 997 bytes");
    }

    [Fact]
    public void NoCommand_UnknownCommand_UnknownOption_MissingArgument_Exit2()
    {
        Assert.Contains("Required command was not provided", Cli.Expect(2).Err);
        Assert.Contains("error:", Cli.Expect(2, "frobnicate").Err);
        Assert.Contains("error:", Cli.Expect(2, "stat", _dir.File(), "--bogus").Err);
        Assert.Contains("error:", Cli.Expect(2, "get", _dir.File()).Err);
        Assert.Contains("error: --tree and --all cannot be combined.", Cli.Expect(2, "dump", _dir.File(), "--all", "--tree", "x").Err);
    }

    [Fact]
    public void Help_Exits0AndListsEveryCommand()
    {
        var r = Cli.Expect(0, "--help");
        foreach (string c in new[] { "stat", "check", "get", "put", "del", "scan", "trees", "readers", "dump", "load", "copy", "bench" })
            Assert.Contains($"  {c} ", r.Out);
        Assert.Contains("3 file not found", r.Out);
    }

    [Fact]
    public void CopyOntoAnExistingFile_Exits6AndLeavesItAlone()
    {
        string path = _dir.File(), dest = _dir.File("dest.mkv");
        Cli.Expect(0, "put", "--create", path, "k", "v");
        File.WriteAllText(dest, "keep me");
        AssertOneLine(Cli.Expect(ExitCodes.Error, "copy", path, dest), $"error: the destination {dest} already exists");
        Assert.Equal("keep me", File.ReadAllText(dest));
    }
}
