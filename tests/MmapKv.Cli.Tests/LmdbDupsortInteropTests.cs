using System.Text;
using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>
/// Multimap trees and LMDB's sorted-duplicate (MDB_DUPSORT) databases through the real mdb_load and mdb_dump: each
/// reads what the other writes, pair for pair, since both order a key's values bytewise, a shorter one first.
/// </summary>
public sealed class LmdbDupsortInteropTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string MdbLoad(string dumpFile)
    {
        string env = Path.Combine(_dir.Path, "env-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(env);
        var (code, _, err) = LmdbTools.Run("mdb_load", "-f", dumpFile, env);
        Assert.True(code == 0, $"mdb_load exited {code}: {err}");
        if (err.Length > 0) output.WriteLine($"mdb_load: {err.Trim()}");
        return env;
    }

    [Fact]
    public void MmapkvDumpOfAMultimapTree_ThroughMdbLoad_MdbDumpGivesTheSameLines()
    {
        string db = _dir.File();
        var tags = MultimapDumpLoadTests.Pairs(7, 200, 30, lmdbSafe: true);
        MultimapDumpLoadTests.WriteMulti(db, "tags", tags);
        string dumpFile = _dir.File("dump.txt");
        Assert.Equal("", Cli.Expect(0, "dump", db, "--tree", "tags", "-o", dumpFile).Err);
        string ours = File.ReadAllText(dumpFile, Encoding.Latin1);
        Assert.Contains("\nduplicates=1\ndupsort=1\n", ours);

        string env = MdbLoad(dumpFile);
        string theirs = LmdbTools.RunOk("mdb_dump", "-s", "tags", env);
        // Same header (mdb_load takes the map size from ours) and the same pairs, in the same order.
        Assert.Equal(ours.Split('\n'), theirs.Split('\n'));
        // And LMDB counts the pairs as entries of a dupsort database.
        Assert.Contains($"Entries: {tags.Count}", LmdbTools.RunOk("mdb_stat", "-s", "tags", env));
    }

    [Fact]
    public void MmapkvDumpAll_ThroughLmdbAndBack_KeepsMultimapAndPlainTreesApart()
    {
        string src = _dir.File("src.mkv");
        var tags = MultimapDumpLoadTests.Pairs(10, 50, 20, lmdbSafe: true);
        MultimapDumpLoadTests.WriteMulti(src, "tags", tags);
        var plain = DumpLoadTests.BinaryEntries(11, 100);
        Write(src, plain, tree: "zplain"); // after the multimap section: mdb_load clears the flags per section
        string dumpFile = _dir.File("dump.txt");
        Cli.Expect(0, "dump", src, "--all", "-o", dumpFile);
        string env = MdbLoad(dumpFile);
        string dst = _dir.File("dst.mkv");
        Cli.ExpectWithInput(0, LmdbTools.RunOk("mdb_dump", "-a", env), "load", "--create", dst);
        Assert.Equal("tags\tmultimap\nzplain\n", Cli.Expect(0, "trees", dst).Out);
        EqualPairs(tags, ReadMulti(dst, "tags"));
        Equal(plain, Read(dst, "zplain"));
    }

    [Fact]
    public void LmdbDupsortDatabase_MadeByMdbLoad_LoadsIntoAMultimapTree()
    {
        // Pairs handwritten out of order and with a repeat: LMDB sorts them and keeps a pair once.
        var input = new StringBuilder("VERSION=3\nformat=print\ndatabase=tags\ntype=btree\nmapsize=67108864\nmaxreaders=126\ndupsort=1\nHEADER=END\n");
        var expected = MultimapDumpLoadTests.Pairs(8, 150, 25, lmdbSafe: true);
        var rng = new Random(9);
        foreach (var (k, v) in expected.OrderBy(_ => rng.Next()).Concat(expected.Take(10)))
            input.Append(' ').Append(Hex(k)).Append("\n ").Append(Hex(v)).Append('\n');
        input.Append("DATA=END\n");
        string dumpFile = _dir.File("handwritten.txt");
        File.WriteAllText(dumpFile, input.ToString(), Encoding.Latin1);
        string env = MdbLoad(dumpFile);

        string fromLmdb = LmdbTools.RunOk("mdb_dump", "-a", env);
        Assert.Contains("\nduplicates=1\ndupsort=1\n", fromLmdb);
        string db = _dir.File();
        var r = Cli.ExpectWithInput(0, fromLmdb, "load", "--create", db);
        Assert.Equal($"loaded {expected.Count:N0} pairs into the multimap tree 'tags'\n", r.Out);
        Assert.Equal("", r.Err);
        EqualPairs(expected, ReadMulti(db, "tags"));
        return;

        // print format's \HH escapes for every byte: unambiguous for mdb_load whatever the data.
        static string Hex(byte[] b) => string.Concat(b.Select(x => $"\\{x:x2}"));
    }

    [Fact]
    public void MdbLoad_OfAPairLmdbCannotHold_FailsAsTheDumpWarned()
    {
        string db = _dir.File();
        MultimapDumpLoadTests.WriteMulti(db, "m", [(B("k"), new byte[512]), (B("k"), B("v"))]);
        string dumpFile = _dir.File("dump.txt");
        Assert.Contains("1 multimap value(s) are longer than 511 bytes", Cli.Expect(0, "dump", db, "--tree", "m", "-o", dumpFile).Err);
        string env = Path.Combine(_dir.Path, "env");
        Directory.CreateDirectory(env);
        var (code, _, err) = LmdbTools.Run("mdb_load", "-f", dumpFile, env);
        output.WriteLine($"mdb_load on a 512-byte dupsort value: exit {code}: {err.Trim()}");
        Assert.NotEqual(0, code);
        Assert.Contains("MDB_BAD_VALSIZE", err);
    }
}
