namespace MmapKv.CacheBenchmarks;

/// <summary>Sizes of one run. Full is what docs/benchmarks.md reports; quick is a smoke run that checks every result.</summary>
internal sealed record BenchConfig(
    bool Quick,
    int Repetitions,
    int Keys,
    int GetOps,
    int Set1KOps,
    int Set64KOps,
    int MixedOpsPerTask,
    int HybridOps,
    int SweepExpired,
    int SweepLive,
    string? DocsPath,
    string WorkDir)
{
    public const int MixedTasks = 16;

    public static BenchConfig Parse(string[] args, string repositoryRoot)
    {
        bool quick = args.Contains("--quick");
        string? docs = quick ? null : Path.Combine(repositoryRoot, "docs", "benchmarks.md");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": break;
                case "--docs": docs = args[++i]; break;
                case "--no-docs": docs = null; break;
                case "--help":
                    Console.WriteLine("""
                        MmapKv cache suite: MmapKvCache against NeoSmart.Caching.Sqlite, Redis (a redis-server it starts on
                        127.0.0.1 at a free port) and MemoryDistributedCache.
                          --quick        smoke run: small counts, one repetition, every result checked; writes no docs
                          --docs <file>  where the "Cache" section goes (default for a full run: docs/benchmarks.md)
                          --no-docs      print the section only
                        """);
                    Environment.Exit(0);
                    break;
                default: throw new ArgumentException($"unknown argument {args[i]} (see --help)");
            }
        }
        string work = Path.Combine(Path.GetTempPath(), "mmapkv-cache-bench-" + Environment.ProcessId);
        return quick
            ? new BenchConfig(true, 1, 2_000, 5_000, 2_000, 200, 300, 2_000, 20_000, 2_000, docs, work)
            : new BenchConfig(false, 3, 20_000, 50_000, 20_000, 2_000, 2_000, 30_000, 1_000_000, 10_000, docs, work);
    }
}
