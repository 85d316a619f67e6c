using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Report;

/// <summary>The facts printed beside the results: what the numbers were measured on.</summary>
internal sealed record MachineInfo(
    string Cpu, int Cores, string Memory, string FileSystem, string Kernel, string Os, string DotNet, string Commit, DateTime WhenUtc)
{
    public static MachineInfo Collect(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        return new MachineInfo(
            Cpu: CpuModel(),
            Cores: Environment.ProcessorCount,
            Memory: MemTotal(),
            FileSystem: FileSystemOf(dataDir),
            Kernel: ReadFirstLine("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription,
            Os: OsName(),
            DotNet: RuntimeInformation.FrameworkDescription,
            Commit: CommitId(),
            WhenUtc: DateTime.UtcNow);
    }

    /// <summary>The checked-out commit, marked when the library's sources differ from it (read-only git calls).</summary>
    private static string CommitId()
    {
        string? head = Run("git", "rev-parse", "--short", "HEAD");
        if (head is null) return "unknown";
        return Run("git", "status", "--porcelain", "--", "src") is null ? $"`{head}`" : $"`{head}` (with uncommitted changes in src/)";
    }

    private static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string MemTotal()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    long kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
                    return $"{kib / 1024.0 / 1024.0:0.0} GiB";
                }
        }
        catch (IOException) { }
        return "unknown";
    }

    /// <summary><c>stat -f -c %T</c> (which calls ext4 "ext2/ext3"), plus the mount's own type and options.</summary>
    private static string FileSystemOf(string dir)
    {
        string statfs = Run("stat", "-f", "-c", "%T", dir) ?? "unknown";
        try
        {
            string full = Path.GetFullPath(dir);
            string best = "", type = "", options = "";
            foreach (string line in File.ReadLines("/proc/mounts"))
            {
                var f = line.Split(' ');
                if (f.Length < 4) continue;
                string mount = f[1].Replace("\\040", " ");
                bool under = full == mount || full.StartsWith(mount.TrimEnd('/') + "/", StringComparison.Ordinal);
                if (under && mount.Length >= best.Length) (best, type, options) = (mount, f[2], f[3]);
            }
            if (type.Length > 0) return $"{type} on {best} ({options}); stat -f: {statfs}";
        }
        catch (IOException) { }
        return statfs;
    }

    private static string OsName()
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/os-release"))
                if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return line[12..].Trim('"');
        }
        catch (IOException) { }
        return RuntimeInformation.OSDescription;
    }

    private static string? ReadFirstLine(string path)
    {
        try { return File.ReadLines(path).FirstOrDefault()?.Trim(); }
        catch (IOException) { return null; }
    }

    /// <summary>Runs a read-only command and returns its trimmed output, or null.</summary>
    private static string? Run(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
