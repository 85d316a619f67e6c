// The cache suite (docs/benchmarks.md, "Cache"): MmapKvCache against NeoSmart.Caching.Sqlite, Redis on loopback and
// MemoryDistributedCache, all in one process and one run, engines in rotated order each repetition, medians
// reported as peer time / MmapKv time. Run it with benchmarks/cache.sh (full) or benchmarks/cache.sh --quick.
using System.Diagnostics;
using MmapKv.CacheBenchmarks;

string root = FindRoot();
var config = BenchConfig.Parse(args, root);
Console.WriteLine($"cache suite, {(config.Quick ? "quick" : "full")} mode: {config.Keys:N0} keys, {config.Repetitions} repetition(s)");
var total = Stopwatch.StartNew();
string loadAtStart = CacheReport.LoadAverage();
try
{
    using var redis = new RedisServerProcess();
    var engines = CacheEngine.All(config, redis);
    var workloads = new Workloads(config);
    foreach (var e in engines)
    {
        await workloads.Prepare(e);
        Console.WriteLine($"  prepared {e.Name}");
    }
    var samples = new Dictionary<(string Workload, string Engine), List<double>>();
    foreach (var w in workloads.All)
    {
        for (int rep = 0; rep < config.Repetitions + 1; rep++) // repetition 0 warms up (JIT, connections) and is not counted
        {
            for (int j = 0; j < engines.Count; j++)
            {
                var e = engines[(j + rep) % engines.Count];
                if (!w.AppliesTo(e)) continue;
                double ns = await w.Run(e);
                if (rep == 0) continue;
                if (!samples.TryGetValue((w.Name, e.Name), out var list)) samples[(w.Name, e.Name)] = list = [];
                list.Add(ns);
            }
        }
        Console.WriteLine($"  {w.Name}: " + string.Join(", ", engines.Where(w.AppliesTo).Select(e => $"{e.Name} {CacheReport.Time(CacheReport.Median(samples[(w.Name, e.Name)]))}")));
    }
    foreach (var e in engines) e.Dispose();

    Console.WriteLine($"  sweep: {config.SweepExpired:N0} expired entries");
    var sweep = SweepLatency.Run(config);
    Console.WriteLine($"  sweep: p99 idle {CacheReport.Time(sweep.IdleP99)}, p99 while sweeping {CacheReport.Time(sweep.SweepP99)}, sweep {sweep.SweepTime.TotalSeconds:F1} s");

    string section = CacheReport.Markdown(config, engines, workloads.All, samples, sweep, redis.Version, root, loadAtStart);
    Console.WriteLine();
    Console.WriteLine(section);
    if (config.DocsPath is not null)
    {
        CacheReport.WriteSection(config.DocsPath, section);
        Console.WriteLine($"wrote the Cache section of {config.DocsPath}");
    }
    Console.WriteLine($"cache suite done in {total.Elapsed.TotalSeconds:F0} s");
    return 0;
}
finally
{
    try { Directory.Delete(config.WorkDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "MmapKv.sln"))) return d.FullName;
    return Directory.GetCurrentDirectory();
}
