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
        using var data = new Dataset(Math.Max(1, config.Commits));
        foreach (var engine in engines)
        {
            string dir = Path.Combine(config.DataDir, $"{engine.Id}-flushcount");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            engine.Open(dir);
            long t0 = Stopwatch.GetTimestamp();
            var threads = Enumerable.Range(0, config.Threads).Select(t => new Thread(() =>
            {
                for (int i = t; i < config.Commits; i += config.Threads)
                {
                    using var w = engine.BeginWrite();
                    w.Put(data.Key(i), data.Value(i));
                    w.Commit();
                }
            })).ToList();
            foreach (var th in threads) th.Start();
            foreach (var th in threads) th.Join();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            using (var r = engine.BeginRead())
                for (int i = 0; i < config.Commits; i++)
                    if (!r.TryGet(data.Key(i), out var v) || !v.SequenceEqual(data.Value(i)))
                        throw new VerificationException($"{engine.Name}: flush count: key #{i} is missing or wrong");
            engine.Close();
            if (!config.KeepData) Directory.Delete(dir, recursive: true);
            Console.WriteLine($"flushcount {engine.Id} threads={config.Threads} commits={config.Commits} ms={ms:0.0}");
        }
    }
}
