using System.Diagnostics;
using System.Text;

namespace MmapKv.Cli.Tests;

/// <summary>
/// Runs Debian's LMDB tools (package lmdb-utils). Tests that need them fail, never skip, when they are missing:
/// CI installs them, and a silently skipped interchange test would prove nothing.
/// </summary>
internal static class LmdbTools
{
    public static string Require(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"{tool} is not on PATH. These interchange tests need the real LMDB tools: install them with " +
                    "'apt-get install -y lmdb-utils' (CI does this in .ci/install-deps).");
        return null!;
    }

    /// <summary>Runs a tool; stdout is read as Latin-1 so each byte stays one char, as mmapkv reads its stdin.</summary>
    public static (int ExitCode, string Out, string Err) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.Latin1,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    public static string RunOk(string tool, params string[] args)
    {
        var (code, output, err) = Run(tool, args);
        Assert.True(code == 0, $"{tool} {string.Join(' ', args)} exited {code}: {err}");
        return output;
    }

    /// <summary>mdb_dump text in bytevalue format, written here by hand (not by mmapkv's writer) for mdb_load.</summary>
    public static string HandwrittenDump(IEnumerable<(string? Name, IDictionary<byte[], byte[]> Entries)> sections)
    {
        var sb = new StringBuilder();
        foreach (var (name, entries) in sections)
        {
            sb.Append("VERSION=3\nformat=bytevalue\n");
            if (name is not null) sb.Append($"database={name}\n");
            sb.Append("type=btree\nmapsize=67108864\nmaxreaders=126\nHEADER=END\n");
            foreach (var (k, v) in entries)
                sb.Append(' ').Append(Convert.ToHexStringLower(k)).Append("\n ").Append(Convert.ToHexStringLower(v)).Append('\n');
            sb.Append("DATA=END\n");
        }
        return sb.ToString();
    }

    /// <summary>Parses mdb_dump output into (database name, entries) sections with mmapkv's reader.</summary>
    public static List<(string? Name, SortedDictionary<byte[], byte[]> Entries)> Parse(string dump)
    {
        var reader = new Lmdb.MdbDumpReader(new StringReader(dump));
        var sections = new List<(string?, SortedDictionary<byte[], byte[]>)>();
        while (reader.ReadHeader() is { } header)
        {
            var map = Contents.NewMap();
            while (reader.ReadPair(out byte[] k, out byte[] v)) map.Add(k, v);
            sections.Add((header.Database, map));
        }
        return sections;
    }
}
