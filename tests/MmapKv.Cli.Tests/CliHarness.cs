using System.Text;

namespace MmapKv.Cli.Tests;

/// <summary>What one in-process run of the tool returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}

/// <summary>Runs the real entry point (<see cref="Program.Run(string[], TextWriter, TextWriter, TextReader?)"/>) with captured output.</summary>
internal static class Cli
{
    public static CliResult Run(params string[] args) => RunWithInput(null, args);

    public static CliResult RunWithInput(string? stdin, params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = Program.Run(args, stdout, stderr, stdin is null ? null : new StringReader(stdin));
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs and asserts the exit code, showing all output when it differs.</summary>
    public static CliResult Expect(int exitCode, params string[] args) => ExpectWithInput(exitCode, null, args);

    public static CliResult ExpectWithInput(int exitCode, string? stdin, params string[] args)
    {
        var r = RunWithInput(stdin, args);
        Assert.True(r.ExitCode == exitCode, $"mmapkv {string.Join(' ', args)}: expected exit {exitCode}\n{r}");
        return r;
    }
}

/// <summary>A fresh temporary folder, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mmapkv-cli-tests", Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name = "test.mkv") => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Key/value contents of trees, compared bytewise.</summary>
internal static class Contents
{
    public static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    public static SortedDictionary<byte[], byte[]> NewMap() => new(ByteOrder.Instance);

    /// <summary>Reads a tree (null: the default tree) of a closed database file.</summary>
    public static SortedDictionary<byte[], byte[]> Read(string path, string? tree = null)
    {
        using var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true });
        using var tx = db.BeginRead();
        var map = NewMap();
        using var c = tree is null ? tx.OpenCursor() : tx.OpenTree(tree).OpenCursor();
        for (bool ok = c.First(); ok; ok = c.Next()) map.Add(c.Key.ToArray(), c.Value.ToArray());
        return map;
    }

    /// <summary>Every (key, value) pair of a multimap tree of a closed database file, in the tree's order.</summary>
    public static List<(byte[] Key, byte[] Value)> ReadMulti(string path, string tree)
    {
        using var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true });
        using var tx = db.BeginRead();
        var pairs = new List<(byte[], byte[])>();
        foreach (var e in tx.OpenMultiTree(tree).Scan()) pairs.Add((e.Key.ToArray(), e.Value.ToArray()));
        return pairs;
    }

    /// <summary>Asserts two lists of pairs are equal, pair by pair, in order.</summary>
    public static void EqualPairs(IReadOnlyList<(byte[] Key, byte[] Value)> expected, IReadOnlyList<(byte[] Key, byte[] Value)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].Key.AsSpan().SequenceEqual(actual[i].Key), $"pair {i}: key {Convert.ToHexString(expected[i].Key)} != {Convert.ToHexString(actual[i].Key)}");
            Assert.True(expected[i].Value.AsSpan().SequenceEqual(actual[i].Value), $"pair {i}: value {Convert.ToHexString(expected[i].Value)} != {Convert.ToHexString(actual[i].Value)}");
        }
    }

    public static IReadOnlyList<string> TreeNames(string path)
    {
        using var db = KvDatabase.Open(path, new KvOptions { ReadOnly = true });
        using var tx = db.BeginRead();
        return tx.GetTreeNames();
    }

    /// <summary>Writes entries into a tree (null: the default tree) in one commit.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<byte[], byte[]>> entries, string? tree = null)
    {
        using var db = KvDatabase.Open(path);
        using var tx = db.BeginWrite();
        var t = tree is null ? null : tx.OpenTree(tree); // created even when there are no entries
        foreach (var (k, v) in entries)
        {
            if (t is null) tx.Put(k, v);
            else t.Put(k, v);
        }
        tx.Commit();
    }

    public static void Equal(IDictionary<byte[], byte[]> expected, IDictionary<byte[], byte[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        foreach (var ((ek, ev), (ak, av)) in expected.Zip(actual))
        {
            Assert.Equal(Convert.ToHexString(ek), Convert.ToHexString(ak));
            Assert.True(ev.AsSpan().SequenceEqual(av), $"value of key {Convert.ToHexString(ek)} differs");
        }
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
