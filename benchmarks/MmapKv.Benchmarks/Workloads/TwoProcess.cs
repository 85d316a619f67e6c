using System.Diagnostics;
using System.Globalization;
using MmapKv.Benchmarks.Engines;
using MmapKv.Benchmarks.Report;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>
/// <c>--two-process</c> (benchmarks/two-process.sh): one process writes while another reads the same database.
/// Each repetition loads N keys into every engine's database, then runs two directions. In the first, for each
/// engine, the harness commits one new key per durable transaction while a second process
/// (<see cref="TwoProcessChild"/>), started on the open database, runs read transactions of one random lookup
/// each; in the second the roles swap, so the writer is the process that joined. The engines' pairs take turns in
/// short windows (as the harness's interleaved durable rows do), both processes of a pair running each window
/// from the same "go". Every figure is checked (<see cref="TwoProcessLoops.VerifyReader"/>,
/// <see cref="TwoProcessLoops.CheckWrites"/>), and at the end each database is reopened and scanned whole.
/// </summary>
internal static class TwoProcess
{
    /// <summary>Engines whose files several processes may open at once; the others lock their files to one process.</summary>
    public static readonly string[] SupportedEngines = ["mmapkv", "lmdb", "lmdb-writemap", "lightningdb"];

    public static readonly string[] DefaultEngines = ["mmapkv", "lmdb", "lightningdb"];

    public const double DefaultSeconds = 10;
    public const int DefaultRepetitions = 3;

    /// <summary>Writer keys set aside per second of a direction: far above a durable commit rate on any disk here.</summary>
    private const long KeysPerSecond = 50_000;

    public static readonly Row ChildReads = new("two-process-child-reads", "reads/s, second process (the first commits)", MetricKind.Rate, "two-process", IsRead: true);
    public static readonly Row ParentCommits = new("two-process-parent-commits", "commits/s, first process (the second reads)", MetricKind.Rate, "two-process");
    public static readonly Row ParentReads = new("two-process-parent-reads", "reads/s, first process (the second commits)", MetricKind.Rate, "two-process", IsRead: true);
    public static readonly Row ChildCommits = new("two-process-child-commits", "commits/s, second process (the first reads)", MetricKind.Rate, "two-process");

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    public static TwoProcessPlan Plan(RunConfig config)
    {
        double warmup = Math.Min(1.0, config.Seconds / 5);
        long capacity = Math.Max(10_000, (long)Math.Ceiling((config.Seconds + warmup) * KeysPerSecond));
        long count = config.N + 2 * capacity;
        return new TwoProcessPlan(config.N, capacity, config.Seconds, warmup, Math.Max(1L << 30, count * Dataset.EntrySize * 8));
    }

    /// <summary>Runs the workload; returns the process exit code (0, 2 for a wrong result, 4 for a failed or hung process).</summary>
    public static int Run(RunConfig config, IReadOnlyList<string> engineIds)
    {
        var plan = Plan(config);
        var machine = MachineInfo.Collect(config.DataDir);
        string loadBefore = LoadAverage();
        var engines = engineIds.Select(id => EngineCatalog.Create(id, plan.Settings)).ToList();
        Console.WriteLine($"MmapKv benchmarks: two processes, N = {plan.N:N0}, {config.Seconds:0.###} s per engine and direction in windows of at most {TwoProcessPlan.WindowLimit:0.###} s, engines in turns, after {plan.WarmupSeconds:0.###} s of warm-up, " +
                          $"{config.Repetitions} repetition(s), durable commits");
        Console.WriteLine($"  {machine.Cpu}, {machine.Cores} cores, {machine.Memory}, {machine.FileSystem}, kernel {machine.Kernel}, {machine.DotNet}");
        Console.WriteLine($"  engines: {string.Join(", ", engines.Select(e => $"{e.Name} {e.Version}"))}");
        Console.WriteLine($"  data directory: {config.DataDir}; load average {loadBefore}");
        var clock = Stopwatch.StartNew();
        using var data = new Dataset(plan.Count);
        int[] sorted = data.SortedByKey(0, checked((int)plan.N));
        Console.WriteLine($"  generated {plan.Count:N0} entries in {clock.Elapsed.TotalSeconds:0.0} s");

        var results = new Results();
        if (engineIds.Contains("lightningdb"))
            results.RunNote("LightningDB's bundled linux-x64 liblmdb.so needs glibc 2.38 and does not load on this OS; the harness resolves its \"lmdb\" import to Debian's liblmdb.so.0 (NativeLibrary.SetDllImportResolver), the same library as the LMDB column.");
        var run = new Runner(config, plan, data, sorted, results, clock);
        try
        {
            for (int rep = 0; rep < config.Repetitions; rep++) run.Repetition(engines, rep);
        }
        catch (Exception e) when (e is VerificationException or TwoProcessFailure || run.Phase is not null)
        {
            Console.Error.WriteLine(e is VerificationException ? $"WRONG RESULT: {e.Message}" : $"TWO-PROCESS FAILURE: {(e is TwoProcessFailure ? e.Message : e.ToString())}");
            Console.Error.WriteLine($"  while: {run.Phase}");
            if (e is TwoProcessFailure f) Console.Error.WriteLine($"  second process: {f.ChildCommandLine}");
            else if (run.ChildCommandLine is { } cmd) Console.Error.WriteLine($"  second process: {cmd}");
            Console.Error.WriteLine($"  database left in {run.DatabaseDir}");
            Console.Error.WriteLine($"  reproduce: benchmarks/two-process.sh {Options(config)}");
            return e is VerificationException ? 2 : 4;
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
        }
        if (!config.KeepData && Directory.Exists(config.DataDir) && !Directory.EnumerateFileSystemEntries(config.DataDir).Any())
            Directory.Delete(config.DataDir);
        string loadAfter = LoadAverage();

        Console.WriteLine();
        Console.WriteLine($"Finished in {clock.Elapsed.TotalMinutes:0.0} min (load average {loadAfter}). Medians; ratio = MmapKv / peer (above 1: MmapKv faster):");
        Console.WriteLine();
        Console.Write(MarkdownReport.ResultsTable(results, engines));
        if (MarkdownReport.NotesList(results) is { Length: > 0 } notes)
        {
            Console.WriteLine();
            Console.Write(notes);
        }
        Console.WriteLine("\nChecked: every lookup found its key with the right value checksum, each reader followed its writer's commits in order, " +
                          "the other process saw every commit, and the reopened database holds exactly what was written.");
        if (config.Out is { } outPath)
        {
            TwoProcessReport.WriteSection(outPath, TwoProcessReport.Section(config, plan, machine, engines, results, loadBefore, loadAfter));
            Console.WriteLine($"\nWrote the two-process section into {outPath}.");
        }
        return 0;
    }

    /// <summary>The options of this run, as benchmarks/two-process.sh takes them.</summary>
    public static string Options(RunConfig config) =>
        $"--seconds {config.Seconds:0.###} --reps {config.Repetitions} --n {Rows.Count(config.N)} --engines {string.Join(',', config.Engines)}";

    /// <summary>/proc/loadavg's 1-, 5- and 15-minute figures: other work on the machine shows in the read rates.</summary>
    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>One run's state: what it is doing now, for a failure report.</summary>
    private sealed class Runner(RunConfig config, TwoProcessPlan plan, Dataset data, int[] sorted, Results results, Stopwatch clock)
    {
        public string? Phase { get; private set; }
        public string? DatabaseDir { get; private set; }
        public string? ChildCommandLine { get; private set; }

        /// <summary>One engine's side of a direction: its child, the parent's own loop, and the timed sums.</summary>
        private sealed class Pair(IEngine engine, string dir, long writerFirst, ulong seed, ChildProcess child, IWindowLoop own)
        {
            public IEngine Engine { get; } = engine;
            public string Dir { get; } = dir;
            public long WriterFirst { get; } = writerFirst;
            public ulong Seed { get; } = seed;
            public ChildProcess Child { get; } = child;
            public IWindowLoop Own { get; } = own;
            public long OwnCount, ChildCount;
            public double OwnMs, ChildMs;
            public WriterResult? Writer;
            public ReaderResult? Reader;

            public double OwnRate => OwnCount / (OwnMs / 1000);
            public double ChildRate => ChildCount / (ChildMs / 1000);
        }

        /// <summary>
        /// Every engine's database loaded and open at once, then both directions, each in turns (see
        /// <see cref="Direction"/>), then each database checked, reopened and scanned.
        /// </summary>
        public void Repetition(IReadOnlyList<IEngine> engines, int rep)
        {
            var dirs = new Dictionary<string, string>();
            foreach (var engine in engines)
            {
                string dir = Path.Combine(config.DataDir, $"two-process-{engine.Id}");
                DatabaseDir = dir;
                dirs[engine.Id] = dir;
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                Directory.CreateDirectory(dir);
                Phase = $"{engine.Name}, repetition {rep + 1}: loading {plan.N:N0} keys";
                engine.Open(dir);
                using var w = engine.BeginWrite();
                foreach (int i in sorted) w.Append(data.Key(i), data.Value(i));
                w.Commit();
            }

            var a = Direction(engines, dirs, rep, parentWrites: true, engines.ToDictionary(e => e.Id, _ => plan.N));
            var b = Direction(engines, dirs, rep, parentWrites: false, a.ToDictionary(p => p.Engine.Id, p => p.WriterFirst + p.Writer!.Commits));

            foreach (var engine in engines)
            {
                var pa = a.Single(p => p.Engine == engine);
                var pb = b.Single(p => p.Engine == engine);
                DatabaseDir = dirs[engine.Id];
                Phase = $"{engine.Name}, repetition {rep + 1}: integrity check, then a scan of the reopened database";
                if (engine.SelfCheck() is { } problems) throw new VerificationException($"{engine.Name}: after both directions: {problems}");
                engine.Close();
                engine.Open(dirs[engine.Id]);
                VerifyEverything(engine, pb.WriterFirst + pb.Writer!.Commits);
                engine.Close();
                if (!config.KeepData) Directory.Delete(dirs[engine.Id], recursive: true);

                results.Add(ChildReads, engine.Id, pa.ChildRate);
                results.Add(ParentCommits, engine.Id, pa.OwnRate);
                results.Add(ParentReads, engine.Id, pb.OwnRate);
                results.Add(ChildCommits, engine.Id, pb.ChildRate);
                foreach (var (w, row) in new[] { (pa.Writer!, ParentCommits), (pb.Writer!, ChildCommits) })
                    if (w.Capped)
                        results.RowNote(row, $"{engine.Name}: the writer committed all {plan.Capacity:N0} keys set aside for it before its windows ended; the figure covers the time it ran.");
                Print(engine, rep, "first writes, second reads", pa.OwnRate, pa.ChildRate, pa.Reader!.Seen, pa.Writer!.Commits);
                Print(engine, rep, "second writes, first reads", pb.ChildRate, pb.OwnRate, pb.Reader!.Seen, pb.Writer!.Commits);
            }
            Phase = null;
        }

        /// <summary>
        /// One direction for every engine: a child on each open database, then an untimed warm-up window and
        /// <see cref="TwoProcessPlan.Rounds"/> timed ones, in which the engines' pairs take turns (the first
        /// engine changes every round), so each sees the same drift in the disk's flush latency and in the
        /// machine's load; both processes of a pair run a window from the same "go". Then every pair's checks.
        /// </summary>
        private List<Pair> Direction(IReadOnlyList<IEngine> engines, Dictionary<string, string> dirs, int rep, bool parentWrites,
            Dictionary<string, long> writerFirst)
        {
            var role = parentWrites ? TwoProcessRole.Reader : TwoProcessRole.Writer;
            string what = parentWrites ? "the first process writes, the second reads" : "the second process writes, the first reads";
            var pairs = new List<Pair>();
            try
            {
                for (int k = 0; k < engines.Count; k++)
                {
                    var engine = engines[k];
                    long first = writerFirst[engine.Id];
                    ulong seed = Dataset.Seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(2 * rep + (parentWrites ? 1 : 2))) ^ (ulong)k;
                    DatabaseDir = dirs[engine.Id];
                    Phase = $"{engine.Name}, repetition {rep + 1}: {what}: starting the second process";
                    var child = new ChildProcess(TwoProcessChild.Arguments(role, engine.Id, dirs[engine.Id], plan, first, seed));
                    IWindowLoop own = parentWrites ? new WriterLoop(engine, data, plan, first) : new ReaderLoop(engine, data, plan, first, seed);
                    pairs.Add(new Pair(engine, dirs[engine.Id], first, seed, child, own));
                    ChildCommandLine = child.CommandLine;
                    child.Expect("ready", ReadyTimeout);
                }
                for (int round = -1; round < plan.Rounds; round++)
                {
                    double seconds = round < 0 ? plan.WarmupSeconds : plan.WindowSeconds(round);
                    var windowTimeout = TimeSpan.FromSeconds(seconds + 120);
                    for (int k = 0; k < pairs.Count; k++)
                    {
                        var p = pairs[(k + round + 1 + rep) % pairs.Count];
                        DatabaseDir = p.Dir;
                        ChildCommandLine = p.Child.CommandLine;
                        Phase = $"{p.Engine.Name}, repetition {rep + 1}: {what}: {(round < 0 ? "warm-up window" : $"window {round + 1} of {plan.Rounds}")}";
                        p.Child.Send(string.Create(CultureInfo.InvariantCulture, $"go {seconds:R}"));
                        var own = p.Own.Window(seconds);
                        var other = WindowResult.Parse(p.Child.Receive(windowTimeout, "its window's result"));
                        if (round < 0) continue;
                        (p.OwnCount, p.OwnMs) = (p.OwnCount + own.Count, p.OwnMs + own.Ms);
                        (p.ChildCount, p.ChildMs) = (p.ChildCount + other.Count, p.ChildMs + other.Ms);
                    }
                }
                foreach (var p in pairs)
                {
                    DatabaseDir = p.Dir;
                    ChildCommandLine = p.Child.CommandLine;
                    Phase = $"{p.Engine.Name}, repetition {rep + 1}: {what}: checking";
                    p.Child.Send("result");
                    if (parentWrites)
                    {
                        p.Writer = ((WriterLoop)p.Own).Result();
                        p.Reader = ReaderResult.Parse(p.Child.Receive(CheckTimeout, "reader result"));
                        TwoProcessLoops.VerifyReader(p.Reader, data, plan, p.Seed, $"{p.Engine.Name} (second process reading)", p.Writer.Commits);
                        p.Child.Send($"check {p.WriterFirst} {p.Writer.Commits}");
                        p.Child.Expect("ok", CheckTimeout);
                        p.Child.Exit(ExitTimeout);
                        TwoProcessLoops.CheckWrites(p.Engine, data, p.WriterFirst, p.Writer.Commits, plan.Capacity, "the writing process, after the reader closed");
                    }
                    else
                    {
                        p.Reader = ((ReaderLoop)p.Own).Result();
                        p.Writer = WriterResult.Parse(p.Child.Receive(CheckTimeout, "writer result"));
                        TwoProcessLoops.VerifyReader(p.Reader, data, plan, p.Seed, $"{p.Engine.Name} (first process reading)", p.Writer.Commits);
                        TwoProcessLoops.CheckWrites(p.Engine, data, p.WriterFirst, p.Writer.Commits, plan.Capacity, "the reading process, the writer still open");
                        p.Child.Exit(ExitTimeout);
                        TwoProcessLoops.CheckWrites(p.Engine, data, p.WriterFirst, p.Writer.Commits, plan.Capacity, "the reading process, after the writer closed");
                    }
                    if (p.OwnCount <= 0 || p.ChildCount <= 0)
                        throw new VerificationException($"{p.Engine.Name}: {what}: a process did nothing in the timed windows ({p.OwnCount:N0} and {p.ChildCount:N0})");
                }
                ChildCommandLine = null;
                return pairs;
            }
            finally
            {
                foreach (var p in pairs) p.Child.Dispose();
            }
        }

        /// <summary>A scan of the reopened database returns every loaded and written entry once: count and checksum.</summary>
        private void VerifyEverything(IEngine engine, long end)
        {
            ulong expected = 0;
            for (long i = 0; i < end; i++) expected += data.EntryChecksum(i);
            using var r = engine.BeginRead();
            using var c = r.OpenCursor();
            long count = 0;
            ulong sum = 0;
            for (bool ok = c.First(); ok; ok = c.Next(), count++) sum += Checksum.Of(c.Key) + Checksum.Of(c.Value);
            if (count != end) throw new VerificationException($"{engine.Name}: the reopened database holds {count:N0} entries, {end:N0} were written");
            if (sum != expected) throw new VerificationException($"{engine.Name}: the reopened database's entries do not match what was written (checksum)");
        }

        private void Print(IEngine engine, int rep, string label, double commits, double reads, long seen, long committed) =>
            Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] rep {rep + 1}/{config.Repetitions}  {engine.Name,-16} {label}: " +
                              $"{Units.PerSecond(commits)} commits, {Units.PerSecond(reads)} reads " +
                              $"(reader followed {seen:N0} of {committed:N0} commits live)");
    }
}
