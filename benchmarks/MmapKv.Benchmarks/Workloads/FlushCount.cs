using System.Diagnostics;
using MmapKv.Benchmarks.Engines;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>
/// <c>--flushcount</c>: the smallest run that benchmarks/flush-count.sh traces with strace. For each engine: open a
/// fresh database, run <see cref="RunConfig.Commits"/> durable one-put transactions split over
/// <see cref="RunConfig.Threads"/> threads, close. The script runs it once with zero commits as well and subtracts,
/// so opening and closing are not counted.
/// </summary>
internal static class FlushCount
{
    public static void Run(RunConfig config, IReadOnlyList<IEngine> engines)
    {
        long preload = config.FileFrom == "none" ? 0 : config.N; // the copy's keys come first, the commits' after
        using var data = new Dataset(preload + Math.Max(1, config.Commits));
        foreach (var engine in engines)
        {
            string dir = Path.Combine(config.DataDir, $"{engine.Id}-flushcount");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            if (preload > 0) MakeFile(config.FileFrom, data, preload, dir);
            engine.Open(dir);
            long written0 = WrittenBytes();
            long t0 = Stopwatch.GetTimestamp();
            var threads = Enumerable.Range(0, config.Threads).Select(t => new Thread(() =>
            {
                for (long i = preload + t; i < preload + config.Commits; i += config.Threads)
                {
                    using var w = engine.BeginWrite();
                    w.Put(data.Key(i), data.Value(i));
                    w.Commit();
                }
            })).ToList();
            foreach (var th in threads) th.Start();
            foreach (var th in threads) th.Join();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            long written = WrittenBytes() - written0;
            using (var r = engine.BeginRead())
                for (long i = 0; i < preload + config.Commits; i++)
                    if (!r.TryGet(data.Key(i), out var v) || !v.SequenceEqual(data.Value(i)))
                        throw new VerificationException($"{engine.Name}: flush count: key #{i} is missing or wrong");
            engine.Close();
            if (!config.KeepData) Directory.Delete(dir, recursive: true);
            string copied = preload > 0 ? $" file-from={config.FileFrom} n={preload}" : "";
            string bytes = written0 >= 0 && config.Commits > 0 ? $" written-KiB-per-commit={written / 1024.0 / config.Commits:0.0}" : "";
            Console.WriteLine($"flushcount {engine.Id}{copied} threads={config.Threads} commits={config.Commits} ms={ms:0.0}{bytes}");
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> keys into a database, closes it, and leaves it where the engine opens it
    /// (data.mkv) as <paramref name="how"/> says: as it is ('load'); copied with File.Copy, as a user's cp or restore
    /// would (the copy's pages stay cached as the copy wrote them), or with KvDatabase.CopyTo; or in place, then the
    /// page cache dropped and the file read once with read(), as a backup tool reading a closed database into a cold
    /// cache would ('cold-read'), and then optionally its cached pages dropped with <c>dd iflag=nocache</c>
    /// ('cold-read-dropped').
    /// </summary>
    private static void MakeFile(string how, Dataset data, long count, string dir)
    {
        string target = Path.Combine(dir, "data.mkv");
        bool coldRead = how.StartsWith("cold-read", StringComparison.Ordinal), inPlace = coldRead || how == "load";
        string source = inPlace ? target : Path.Combine(dir, "source.mkv");
        using (var db = KvDatabase.Open(source, new KvOptions { Exclusive = true }))
        {
            using (var w = db.BeginWrite())
            {
                for (long i = 0; i < count; i++) w.Put(data.Key(i), data.Value(i));
                w.Commit();
            }
            if (how == "copyto") db.CopyTo(target);
        }
        if (how == "cp") File.Copy(source, target);
        if (coldRead)
        {
            try { File.WriteAllText("/proc/sys/vm/drop_caches", "3"); }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new InvalidOperationException($"--file-from cold-read drops the page cache, which needs root: {e.Message}", e);
            }
            using var file = File.OpenRead(target);
            var buffer = new byte[1 << 20];
            while (file.Read(buffer) > 0) { }
            // The workaround docs/durability.md §13.1 gives: GNU dd drops the file's cached pages before the open.
            if (how == "cold-read-dropped")
            {
                using var dd = System.Diagnostics.Process.Start("dd", ["if=" + target, "iflag=nocache", "count=0", "status=none"]);
                dd.WaitForExit();
                if (dd.ExitCode != 0) throw new InvalidOperationException($"dd iflag=nocache exited with {dd.ExitCode}");
            }
        }
        if (!inPlace) File.Delete(source);
    }

    /// <summary>Bytes this process caused to be written to storage so far (Linux /proc/self/io write_bytes), or -1.</summary>
    private static long WrittenBytes()
    {
        if (!File.Exists("/proc/self/io")) return -1;
        foreach (string line in File.ReadLines("/proc/self/io"))
            if (line.StartsWith("write_bytes:", StringComparison.Ordinal)) return long.Parse(line.AsSpan(12).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return -1;
    }
}
