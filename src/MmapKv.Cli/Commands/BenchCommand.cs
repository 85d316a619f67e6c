using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace MmapKv.Cli.Commands;

/// <summary>
/// <c>bench</c>: a short workload on a new database in a temporary folder: a bulk load in one transaction, random
/// reads, a full scan and many small durable commits; then a throughput table and the integrity check.
/// </summary>
internal static class BenchCommand
{
    private const int KeySize = 24;
    private const int ValueSize = 150;

    public static Command Create(CliContext context)
    {
        var quick = new Option<bool>("--quick", "-q") { Description = "100,000 entries instead of 1,000,000." };
        var count = new Option<int?>("--count") { Description = "Number of entries (overrides --quick).", HelpName = "N" };
        var commits = new Option<int>("--commits") { Description = "Number of single-put durable commits.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var seed = new Option<int>("--seed") { Description = "Seed for the random keys and read order.", DefaultValueFactory = _ => 42 };
        var dir = new Option<string>("--dir") { Description = "Parent folder for the temporary database (default: the system temp folder).", HelpName = "PATH" };
        var command = new Command("bench",
            $"Benchmark a fresh database in a temporary folder: N random {KeySize}-byte keys with {ValueSize}-byte values " +
            "loaded in one transaction, N random reads, a full scan, then single-put durable commits; prints ops/s " +
            "and the integrity check, then deletes the folder.")
        {
            quick, count, commits, seed, dir,
        };
        count.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--count must be at least 1."); });
        commits.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--commits must be 0 or more."); });
        command.SetAction(parse =>
        {
            int n = parse.GetValue(count) ?? (parse.GetValue(quick) ? 100_000 : 1_000_000);
            string parent = parse.GetValue(dir) ?? Path.GetTempPath();
            if (!Directory.Exists(parent)) throw new CliException(ExitCodes.FileNotFound, $"directory not found: {parent}");
            return Run(context, n, parse.GetValue(commits), parse.GetValue(seed), parent);
        });
        return command;
    }

    internal static int Run(CliContext context, int n, int commits, int seed, string parent)
    {
        string folder = Path.Combine(parent, $"mmapkv-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "bench.mkv");
            var o = context.Out;
            o.WriteLine($"mmapkv bench: {N(n)} random {KeySize}-byte keys, {ValueSize}-byte values, {N(commits)} durable commits");
            o.WriteLine($"database: {path}");
            var results = new List<(string Phase, long Ops, TimeSpan Time)>();
            CheckReport report;
            KvStats stats;
            using (var db = KvDatabase.Open(path))
            {
                var rng = new Random(seed);
                byte[] keys = new byte[(long)n * KeySize];
                rng.NextBytes(keys);
                byte[] value = new byte[ValueSize];
                rng.NextBytes(value);
                int[] order = Enumerable.Range(0, n).ToArray();
                rng.Shuffle(order);
                var ct = context.Cancellation;
                context.WithProgress(progress =>
                {
                    var load = progress.AddTask("bulk load", n, start: false);
                    var read = progress.AddTask("random reads", n, start: false);
                    var scan = progress.AddTask("full scan", n, start: false);
                    var commit = progress.AddTask("durable commits", Math.Max(commits, 1), start: false);

                    results.Add(("bulk load (1 txn)", n, Time(load, () =>
                    {
                        using var tx = db.BeginWrite();
                        for (int i = 0; i < n; i++)
                        {
                            tx.Put(keys.AsSpan(i * KeySize, KeySize), value);
                            if ((i & 0x3FFF) == 0) { ct.ThrowIfCancellationRequested(); load.Set(i); }
                        }
                        tx.Commit(Durability.Immediate);
                    })));

                    results.Add(("random reads", n, Time(read, () =>
                    {
                        using var tx = db.BeginRead();
                        long missing = 0;
                        for (int i = 0; i < n; i++)
                        {
                            if (!tx.TryGet(keys.AsSpan(order[i] * KeySize, KeySize), out var v) || v.Length != ValueSize) missing++;
                            if ((i & 0x3FFF) == 0) { ct.ThrowIfCancellationRequested(); read.Set(i); }
                        }
                        // Random 24-byte keys collide with negligible probability; a miss is a bug.
                        if (missing > 0) throw new CliException(ExitCodes.Error, $"bench: {missing} of {n} keys read back missing or wrong");
                    })));

                    long scanned = 0;
                    results.Add(("full scan", n, Time(scan, () =>
                    {
                        using var tx = db.BeginRead();
                        using var c = tx.OpenCursor();
                        for (bool ok = c.First(); ok; ok = c.Next())
                        {
                            if ((++scanned & 0x3FFF) == 0) { ct.ThrowIfCancellationRequested(); scan.Set(scanned); }
                        }
                    })));
                    if (scanned != n) throw new CliException(ExitCodes.Error, $"bench: the scan saw {scanned} entries, expected {n}");

                    byte[] extra = new byte[KeySize];
                    results.Add(("durable commits (1 put each)", commits, Time(commit, () =>
                    {
                        for (int i = 0; i < commits; i++)
                        {
                            rng.NextBytes(extra);
                            using var tx = db.BeginWrite();
                            tx.Put(extra, value);
                            tx.Commit(Durability.Immediate);
                            if ((i & 0x1F) == 0) { ct.ThrowIfCancellationRequested(); commit.Set(i); }
                        }
                    })));
                    return 0;
                });
                report = context.WithStatus("checking", db.Check);
                stats = db.GetStats();
            }
            var table = new TextTable("phase", "ops", "seconds", "ops/s");
            table.RightAlign(1, 2, 3);
            foreach (var (phase, ops, time) in results)
                table.Add(phase, N(ops), time.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture),
                    time.TotalSeconds > 0 ? N((long)(ops / time.TotalSeconds)) : "-");
            o.WriteLine();
            table.Write(o);
            o.WriteLine();
            o.WriteLine($"file size: {N(stats.FileSize)} bytes ({StatCommand.Size(stats.FileSize)}), {N(stats.PageCount)} pages, depth {stats.Main.Depth}, {N(stats.FreePages)} free pages");
            o.Write("check: ");
            return CheckCommand.Write(o, report);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException e) { context.Err.WriteLine($"warning: could not delete {folder}: {e.Message}"); }
        }
    }

    private static TimeSpan Time(IProgressTask task, Action work)
    {
        task.Start();
        var sw = Stopwatch.StartNew();
        work();
        sw.Stop();
        task.Finish();
        return sw.Elapsed;
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
