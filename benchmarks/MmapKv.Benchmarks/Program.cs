using System.Diagnostics;
using MmapKv.Benchmarks;
using MmapKv.Benchmarks.Engines;
using MmapKv.Benchmarks.Native;
using MmapKv.Benchmarks.Report;
using MmapKv.Benchmarks.Workloads;
using Spectre.Console;

NativeLibraries.Install();
// The second process of --two-process: the harness's own executable, started by it (Workloads/TwoProcessChild.cs).
if (args.Length > 0 && args[0] == TwoProcessChild.Flag) return TwoProcessChild.Run(args[1..]);

RunConfig config;
try
{
    if (args.Contains("--help") || args.Contains("-h"))
    {
        Console.WriteLine(RunConfig.Usage);
        return 0;
    }
    config = RunConfig.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine();
    Console.Error.WriteLine(RunConfig.Usage);
    return 1;
}

// Native peers: skip a missing one with a clear message, except in smoke mode (CI installs them all).
var engineIds = new List<string>();
foreach (string id in config.Engines)
{
    if (EngineCatalog.Missing(id) is not { } missing)
    {
        engineIds.Add(id);
        continue;
    }
    Console.Error.WriteLine(missing);
    if (config.Smoke)
    {
        Console.Error.WriteLine("Smoke mode needs every engine; run benchmarks/smoke.sh, which installs them.");
        return 3;
    }
    Console.Error.WriteLine($"Skipping {id}.");
}

if (config.Mode == RunMode.TwoProcess) return TwoProcess.Run(config, engineIds);

long datasetSize = config.Mode == RunMode.Scaling
    ? ScalingSuite.DatasetSize(config.ScalingSizes)
    : StandardSuite.DatasetSize(config.N);
long largest = config.Mode == RunMode.Scaling ? config.ScalingSizes.Max() : datasetSize;
long rawBytes = largest * Dataset.EntrySize;
var settings = new EngineSettings(
    Durable: config.Durable,
    MapSize: Math.Max(1L << 30, rawBytes * 8),
    CacheBytes: Math.Max(8L << 20, rawBytes * 2));
var engines = engineIds.Select(id => EngineCatalog.Create(id, settings)).ToList();

if (config.Mode == RunMode.FlushCount)
{
    try { FlushCount.Run(config, engines); }
    finally { foreach (var e in engines) e.Dispose(); }
    return 0;
}

var machine = MachineInfo.Collect(config.DataDir);
Console.WriteLine($"MmapKv benchmarks: {config.Mode.ToString().ToLowerInvariant()} mode, N = {config.N:N0}, {config.Repetitions} repetition(s), " +
                  $"{(config.Durable ? "durable" : "deferred")} commits");
Console.WriteLine($"  {machine.Cpu}, {machine.Cores} cores, {machine.Memory}, {machine.FileSystem}, kernel {machine.Kernel}, {machine.DotNet}");
Console.WriteLine($"  engines: {string.Join(", ", engines.Select(e => $"{e.Name} {e.Version}"))}");
Console.WriteLine($"  data directory: {config.DataDir}");

var clock = Stopwatch.StartNew();
using var data = new Dataset(datasetSize);
var results = new Results();
if (engineIds.Contains("lightningdb"))
    results.RunNote("LightningDB's bundled linux-x64 liblmdb.so needs glibc 2.38 and does not load on this OS; the harness resolves its \"lmdb\" import to Debian's liblmdb.so.0 (NativeLibrary.SetDllImportResolver), the same library as the LMDB column.");
Console.WriteLine($"  generated {datasetSize:N0} entries in {clock.Elapsed.TotalSeconds:0.0} s");

int exitCode = 0;
if (!config.Smoke && !config.NoWarmup)
{
    // Warm-up: the same code paths on a small deferred database, so no timed step pays for JIT compilation.
    var warm = config.Warmup();
    var warmSettings = settings with { Durable = false };
    using var warmData = new Dataset(StandardSuite.DatasetSize(warm.N), Dataset.Seed ^ 0xAAAA);
    var warmSuite = new StandardSuite(warm, warmData, new Results(), new SilentProgress());
    var warmEngines = engineIds.Select(id => EngineCatalog.Create(id, warmSettings)).ToList();
    try { warmSuite.RunRepetition(warmEngines, 0); }
    finally { foreach (var e in warmEngines) e.Dispose(); }
    if (Directory.Exists(warm.DataDir)) Directory.Delete(warm.DataDir, recursive: true);
    Console.WriteLine($"  warmed up in {clock.Elapsed.TotalSeconds:0.0} s");
}

bool live = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
try
{
    if (live)
    {
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var suite = CreateSuite(config, data, results, new SilentProgress());
                suite.Progress = new LiveProgress(ctx, engines, suite.PlannedRows.Count * config.Repetitions);
                RunAll(suite);
            });
    }
    else
    {
        var suite = CreateSuite(config, data, results, new PlainProgress(config.Repetitions));
        RunAll(suite);
    }
}
catch (VerificationException e)
{
    Console.Error.WriteLine($"WRONG RESULT: {e.Message}");
    exitCode = 2;
}
finally
{
    foreach (var e in engines) e.Dispose();
    if (!config.KeepData && Directory.Exists(config.DataDir) && !Directory.EnumerateFileSystemEntries(config.DataDir).Any())
        Directory.Delete(config.DataDir);
}
if (exitCode != 0) return exitCode;

Console.WriteLine();
Console.WriteLine($"Finished in {clock.Elapsed.TotalMinutes:0.0} min. Medians; ratio = peer / MmapKv (above 1: MmapKv faster):");
Console.WriteLine();
Console.Write(MarkdownReport.ResultsTable(results, engines));
if (MarkdownReport.NotesList(results) is { Length: > 0 } runNotes)
{
    Console.WriteLine();
    Console.Write(runNotes);
}
if (config.Smoke)
    Console.WriteLine("\nSmoke: every engine returned exactly the data written. (Times at this size, without warm-up, mean nothing.)");
else if (config.Mode != RunMode.Scaling)
{
    Console.WriteLine();
    Console.Write(MarkdownReport.TargetsTable(results));
}

if (config.Out is { } outPath)
{
    string chart = Path.GetFileNameWithoutExtension(outPath) + "-ratios.svg";
    string title = $"MmapKv vs peers, {config.Mode.ToString().ToLowerInvariant()} mode, N = {MmapKv.Benchmarks.Workloads.Rows.Count(config.N)}";
    Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
    SvgChart.Write(Path.Combine(Path.GetDirectoryName(outPath)!, chart), results, engines, title);
    MarkdownReport.Write(outPath, config, machine, engines, results, chart);
    Console.WriteLine($"\nWrote {outPath} and {chart} beside it.");
}
return 0;

void RunAll(SuiteBase suite)
{
    for (int rep = 0; rep < config.Repetitions; rep++)
    {
        // Alternate: each repetition starts with the next engine, so drift in the machine spreads over all of them.
        var order = Enumerable.Range(0, engines.Count).Select(k => engines[(k + rep) % engines.Count]).ToList();
        suite.RunRepetition(order, rep);
    }
}

static SuiteBase CreateSuite(RunConfig config, Dataset data, Results results, IProgressSink sink) =>
    config.Mode == RunMode.Scaling
        ? new ScalingSuite(config, data, results, sink)
        : new StandardSuite(config, data, results, sink);
