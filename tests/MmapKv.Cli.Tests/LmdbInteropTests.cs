using System.Diagnostics;
using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>
/// Interchange with the real LMDB tools: databases written by mdb_load and dumped by mdb_dump load into MmapKv with
/// identical contents, and mmapkv dump output loads into LMDB with identical contents.
/// </summary>
public sealed class LmdbInteropTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>Binary keys of 1 to 64 bytes (LMDB allows up to 511) and values of 0 to 300 bytes.</summary>
    private static SortedDictionary<byte[], byte[]> Entries(int seed, int count, bool printSafe = false)
    {
        var map = DumpLoadTests.BinaryEntries(seed, count);
        if (!printSafe) return map;
        // LMDB 0.9's mdb_dump -p writes a backslash unescaped, so a backslash followed by another or by two hex
        // digits cannot be told from an escape (mdb_load misreads it too). Keep backslashes only where they are
        // unambiguous: followed by a non-hex character or at the end.
        var safe = NewMap();
        foreach (var (k, v) in map) safe[Clean(k)] = Clean(v);
        safe[B("slash\\-dash")] = B("ends with\\");
        return safe;
        static byte[] Clean(byte[] b) => b.Select(x => x == (byte)'\\' ? (byte)'/' : x).ToArray();
    }

    private string NewEnv(string dump)
    {
        string env = Path.Combine(_dir.Path, "env-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(env);
        string file = Path.Combine(_dir.Path, "input-" + Guid.NewGuid().ToString("N")[..8] + ".txt");
        File.WriteAllText(file, dump);
        LmdbTools.RunOk("mdb_load", "-f", file, env);
        return env;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MdbDumpOfTheMainDatabase_LoadsWithIdenticalContents(bool print)
    {
        var expected = Entries(10, 500, printSafe: print);
        string env = NewEnv(LmdbTools.HandwrittenDump([(null, expected)]));
        string dump = LmdbTools.RunOk("mdb_dump", print ? ["-p", env] : [env]);
        Assert.Contains(print ? "format=print\n" : "format=bytevalue\n", dump);
        string db = _dir.File();
        var r = Cli.ExpectWithInput(0, dump, "load", "--create", db);
        Assert.Equal($"loaded {expected.Count} entries into the default tree\n", r.Out);
        Equal(expected, Read(db));
        Assert.Empty(TreeNames(db));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MdbDumpAll_WithNamedDatabases_LoadsIntoNamedTrees(bool print)
    {
        var alpha = Entries(20, 200, printSafe: print);
        var beta = Entries(21, 50, printSafe: print);
        var gamma = Entries(22, 3, printSafe: print);
        string env = NewEnv(LmdbTools.HandwrittenDump([("alpha", alpha), ("beta", beta), ("gamma", gamma)]));
        string dump = LmdbTools.RunOk("mdb_dump", print ? ["-a", "-p", env] : ["-a", env]);
        Assert.Contains("database=beta\n", dump);
        string db = _dir.File();
        Cli.ExpectWithInput(0, dump, "load", "--create", db);
        Assert.Equal(["alpha", "beta", "gamma"], TreeNames(db));
        Equal(alpha, Read(db, "alpha"));
        Equal(beta, Read(db, "beta"));
        Equal(gamma, Read(db, "gamma"));
        Assert.Empty(Read(db)); // mdb_dump -a writes only the named databases
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MmapkvDump_LoadsIntoLmdbWithIdenticalContents(bool print)
    {
        // Backslashes and newlines included: mmapkv's print format escapes them as mdb_load expects.
        var main = Entries(30, 400);
        main[Enumerable.Repeat((byte)0xAB, 511).ToArray()] = B("the longest key LMDB takes");
        var users = Entries(31, 100);
        string db = _dir.File();
        Write(db, main);
        Write(db, users, tree: "users");
        Write(db, [], tree: "empty");
        string dumpFile = _dir.File("dump.txt");
        var r = Cli.Expect(0, print ? ["dump", db, "--all", "-p", "-o", dumpFile] : ["dump", db, "--all", "-o", dumpFile]);
        Assert.Equal("", r.Err);

        string env = Path.Combine(_dir.Path, "env");
        Directory.CreateDirectory(env);
        LmdbTools.RunOk("mdb_load", "-f", dumpFile, env);

        // mdb_dump -a: the named databases.
        var named = LmdbTools.Parse(LmdbTools.RunOk("mdb_dump", "-a", env));
        Assert.Equal(["empty", "users"], named.Select(s => s.Name!).ToArray());
        Assert.Empty(named[0].Entries);
        Equal(users, named[1].Entries);
        // mdb_dump: the main database holds the default tree plus LMDB's own record of each named database.
        var mainSection = LmdbTools.Parse(LmdbTools.RunOk("mdb_dump", env)).Single();
        Assert.Null(mainSection.Name);
        foreach (string name in new[] { "empty", "users" }) Assert.True(mainSection.Entries.Remove(B(name)), $"no record for {name}");
        Equal(main, mainSection.Entries);
    }

    [Fact]
    public void MmapkvDump_OfAKeyOverLmdbsLimit_WarnsAndMdbLoadRefusesIt()
    {
        string db = _dir.File();
        Write(db, [KeyValuePair.Create(new byte[512], B("v"))]);
        string dumpFile = _dir.File("dump.txt");
        var r = Cli.Expect(0, "dump", db, "-o", dumpFile);
        Assert.Contains("longer than 511 bytes", r.Err);
        string env = Path.Combine(_dir.Path, "env");
        Directory.CreateDirectory(env);
        var (code, _, err) = LmdbTools.Run("mdb_load", "-f", dumpFile, env);
        output.WriteLine($"mdb_load on a 512-byte key: exit {code}: {err.Trim()}");
        Assert.NotEqual(0, code);
    }

    [Fact]
    public void Pipeline_MdbDumpAll_IntoTheToolsProcess()
    {
        // The README's example, run as a shell pipeline against the built tool: stdin is a real pipe of bytes.
        var alpha = Entries(40, 300);
        string env = NewEnv(LmdbTools.HandwrittenDump([("alpha", alpha), ("naïve", Entries(41, 5))]));
        string db = _dir.File();
        LmdbTools.Require("mdb_dump");
        string cli = Path.Combine(AppContext.BaseDirectory, "MmapKv.Cli.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("mdb_dump -a \"$1\" | \"$2\" \"$3\" load --create \"$4\"");
        psi.ArgumentList.Add("sh");
        foreach (string a in new[] { env, dotnet, cli, db }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"pipeline exited {p.ExitCode}: {stderr}");
        Assert.DoesNotContain('\u001b', stdout + stderr); // redirected: plain text, no progress bars
        Assert.Equal("loaded 300 entries into the tree 'alpha'\nloaded 5 entries into the tree 'naïve'\n", stdout);
        Equal(alpha, Read(db, "alpha"));
        Assert.Equal(["alpha", "naïve"], TreeNames(db));
    }
}
