using System.Globalization;
using MmapKv.Benchmarks.Workloads;

namespace MmapKv.Benchmarks;

internal enum RunMode { Full, Quick, Smoke, Scaling, FlushCount, TwoProcess }

/// <summary>The command line, parsed. See <see cref="Usage"/>.</summary>
internal sealed class RunConfig
{
    public static readonly string[] AllEngines = ["mmapkv", "lmdb", "lmdb-writemap", "sqlite", "rocksdb", "zonetree", "litedb", "lightningdb"];

    public RunMode Mode { get; private set; } = RunMode.Full;
    public long N { get; private set; }
    public int Repetitions { get; private set; }
    public string[] Engines { get; private set; } = AllEngines;
    public HashSet<string> Selectors { get; private set; } = new(Rows.Selectors);
    public string? Out { get; private set; }
    public string DataDir { get; private set; } = "";
    public bool Durable { get; private set; } = true;
    public bool KeepData { get; private set; }
    public bool NoWarmup { get; private set; }
    public long[] ScalingSizes { get; private set; } = [1_000_000, 4_000_000, 16_000_000];
    public string RepositoryRoot { get; private set; } = "";
    public int Commits { get; private set; } = 1_000;
    public int Threads { get; private set; } = 1;
    /// <summary>--flushcount --file-from: how the database the commits go into was made (none: fresh and empty).</summary>
    public string FileFrom { get; private set; } = "none";
    public double Seconds { get; private set; } = TwoProcess.DefaultSeconds;

    public bool Smoke => Mode == RunMode.Smoke;

    /// <summary>
    /// A small deferred run of the standard suite, unrecorded, so the JIT has compiled every engine's paths
    /// (tier 1, with profile data) before anything is timed.
    /// </summary>
    public RunConfig Warmup() => new()
    {
        Mode = RunMode.Quick,
        N = 20_000,
        Repetitions = 1,
        Engines = Engines,
        Selectors = new(Rows.Selectors),
        Out = null,
        DataDir = Path.Combine(DataDir, "warmup"),
        Durable = false,
        RepositoryRoot = RepositoryRoot,
    };

    public const string Usage = """
        MmapKv comparison harness: runs the workloads of docs/benchmarks.md on MmapKv and its peers.

        Usage: MmapKv.Benchmarks [mode] [options]
          modes (default: full, N = 1,000,000, 3 repetitions)
            --quick               N = 100,000, 1 repetition
            --smoke               N = 2,000, 1 repetition, exact checks of every result; a missing peer is an error
            --scaling             random reads and individual writes at 1M, 4M and 16M keys (long)
            --flushcount          only durable one-put commits on fresh databases, no report: what
                                  benchmarks/flush-count.sh runs under strace (--commits C, --threads T)
            --two-process         one process commits (one durable put per transaction) while a second one,
                                  started by the harness, reads (one lookup per read transaction), then the
                                  reverse, the engines taking turns in windows of 1 s; reads/s and commits/s per
                                  engine (mmapkv, lmdb, lmdb-writemap, lightningdb; default: mmapkv, lmdb,
                                  lightningdb), N = 1,000,000, 3 repetitions; what benchmarks/two-process.sh runs
                                  (--seconds S; --out FILE puts the section into FILE)
          options
            --n N                 override the number of loaded keys
            --reps R              repetitions (the report gives the median)
            --engines LIST        comma list of: mmapkv, lmdb, lmdb-writemap, sqlite, rocksdb, zonetree,
                                  litedb, lightningdb (default: all; full and scaling runs leave litedb out
                                  unless named: its range reads take hours at N = 1,000,000)
            --workloads LIST      comma list of: load, individual, batch, reads, range, scan, concurrent,
                                  removals, size, append, group (default: all)
            --scaling-sizes LIST  comma list of key counts for --scaling
            --commits C           --flushcount: one-put commits per engine (default 1,000; 0 for the baseline)
            --threads T           --flushcount: committing threads (default 1)
            --file-from HOW       --flushcount, mmapkv only: commit into a database of --n keys that was loaded
                                  in place and reopened ('load'), copied by 'cp' (File.Copy, as a user's cp
                                  would) or 'copyto' (KvDatabase.CopyTo), or
                                  closed and then read once into a cold page cache, as a backup tool would
                                  ('cold-read'; needs root to drop the cache), then its pages dropped again with
                                  dd iflag=nocache ('cold-read-dropped'); also prints the bytes the commits
                                  wrote (/proc/self/io), which large page-cache folios inflate
            --seconds S           --two-process: timed seconds per engine and direction (default 10; warm-up S/5, at most 1 s)
            --deferred            deferred commits (MmapKv Deferred, LMDB MDB_NOSYNC, SQLite synchronous=OFF,
                                  RocksDB sync=false) instead of durable ones
            --out PATH            markdown report (the chart goes beside it as NAME-ratios.svg); 'none' for none.
                                  Default: docs/benchmarks.md (full), benchmarks/results/quick.md (quick),
                                  docs/benchmarks-scaling.md (scaling), none (smoke)
            --dir PATH            scratch directory for the databases (default: benchmarks/.data)
            --keep-data           leave the databases behind
            --no-warmup           skip the untimed warm-up pass (for profiling)
        Exit codes: 0 ok, 1 usage, 2 an engine returned a wrong result, 3 a required native library is missing,
        4 (--two-process) the second process failed or hung, or an engine failed in a shared run.
        """;

    public static RunConfig Parse(string[] args)
    {
        var c = new RunConfig();
        long? n = null;
        int? reps = null;
        string? outPath = null, dir = null;
        bool enginesGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value.");
            switch (a)
            {
                case "--full": c.Mode = RunMode.Full; break;
                case "--quick": c.Mode = RunMode.Quick; break;
                case "--smoke": c.Mode = RunMode.Smoke; break;
                case "--scaling": c.Mode = RunMode.Scaling; break;
                case "--flushcount": c.Mode = RunMode.FlushCount; break;
                case "--two-process": c.Mode = RunMode.TwoProcess; break;
                case "--seconds": c.Seconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--commits": c.Commits = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--threads": c.Threads = Math.Max(1, int.Parse(Value(), CultureInfo.InvariantCulture)); break;
                case "--file-from": c.FileFrom = Value(); break;
                case "--n": n = ParseCount(Value()); break;
                case "--reps": reps = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--engines": c.Engines = List(Value()); enginesGiven = true; break;
                case "--workloads": c.Selectors = new(List(Value())); break;
                case "--scaling-sizes": c.ScalingSizes = List(Value()).Select(ParseCount).ToArray(); break;
                case "--deferred": c.Durable = false; break;
                case "--out": outPath = Value(); break;
                case "--dir": dir = Value(); break;
                case "--keep-data": c.KeepData = true; break;
                case "--no-warmup": c.NoWarmup = true; break;
                default: throw new ArgumentException($"Unknown argument '{a}'.");
            }
        }
        // LiteDB starts a query per seek: its range reads took 165 s at N = 100,000, so a full or scaling run with it
        // would take hours. It runs in smoke and quick runs by default, and in the others when named in --engines.
        if (!enginesGiven && c.Mode is RunMode.Full or RunMode.Scaling) c.Engines = AllEngines.Where(e => e != "litedb").ToArray();
        foreach (string e in c.Engines)
            if (!AllEngines.Contains(e)) throw new ArgumentException($"Unknown engine '{e}'; known: {string.Join(", ", AllEngines)}.");
        if (c.Mode == RunMode.TwoProcess)
        {
            if (!enginesGiven) c.Engines = TwoProcess.DefaultEngines;
            foreach (string e in c.Engines)
                if (!TwoProcess.SupportedEngines.Contains(e))
                    throw new ArgumentException($"--two-process: engine '{e}' cannot be opened by two processes at once here; use {string.Join(", ", TwoProcess.SupportedEngines)}.");
            if (!c.Durable) throw new ArgumentException("--two-process measures durable commits only; drop --deferred.");
            if (!(c.Seconds > 0 && c.Seconds <= 3600)) throw new ArgumentException("--seconds must be above 0 and at most 3600.");
        }
        if (c.FileFrom is not ("none" or "load" or "cp" or "copyto" or "cold-read" or "cold-read-dropped"))
            throw new ArgumentException("--file-from takes load, cp, copyto, cold-read, cold-read-dropped or none.");
        if (c.FileFrom != "none" && (c.Mode != RunMode.FlushCount || c.Engines is not ["mmapkv"]))
            throw new ArgumentException("--file-from goes with --flushcount --engines mmapkv.");
        foreach (string w in c.Selectors)
            if (!Rows.Selectors.Contains(w)) throw new ArgumentException($"Unknown workload '{w}'; known: {string.Join(", ", Rows.Selectors)}.");

        c.N = n ?? c.Mode switch { RunMode.Quick => 100_000, RunMode.Smoke => 2_000, _ => 1_000_000 };
        if (c.N < 20) throw new ArgumentException("--n must be at least 20.");
        c.Repetitions = reps ?? (c.Mode == RunMode.Full ? 3 : c.Mode == RunMode.TwoProcess ? TwoProcess.DefaultRepetitions : 1);
        if (c.Repetitions < 1) throw new ArgumentException("--reps must be at least 1.");
        c.RepositoryRoot = FindRepositoryRoot();
        c.DataDir = Path.GetFullPath(dir ?? Path.Combine(c.RepositoryRoot, "benchmarks", ".data"));
        outPath ??= c.Mode switch
        {
            RunMode.Full => Path.Combine(c.RepositoryRoot, "docs", "benchmarks.md"),
            RunMode.Quick => Path.Combine(c.RepositoryRoot, "benchmarks", "results", "quick.md"),
            RunMode.Scaling => Path.Combine(c.RepositoryRoot, "docs", "benchmarks-scaling.md"),
            _ => "none",
        };
        c.Out = outPath == "none" ? null : Path.GetFullPath(outPath);
        return c;
    }

    private static string[] List(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant()).ToArray();

    /// <summary>"1000000", "1_000_000", "1M", "100K".</summary>
    private static long ParseCount(string s)
    {
        s = s.Replace("_", "").Replace(",", "").Trim().ToUpperInvariant();
        long scale = s.EndsWith('M') ? 1_000_000 : s.EndsWith('K') ? 1_000 : 1;
        if (scale > 1) s = s[..^1];
        return long.Parse(s, CultureInfo.InvariantCulture) * scale;
    }

    /// <summary>The directory holding MmapKv.sln, searched upward from the working directory, then from the binary.</summary>
    private static string FindRepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "MmapKv.sln"))) return d.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
