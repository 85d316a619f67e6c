using System.Diagnostics;
using MmapKv.Simulation;

namespace MmapKv.Fuzz;

/// <summary>
/// Crash mode: random crash workloads (as tests/MmapKv.Tests/CrashSimulationTests.cs generates them, but from the
/// run seed with System.Random) through <see cref="CrashRunner.Run"/>, a simulated process kill or power loss,
/// and <see cref="CrashRunner.VerifyRecovery"/> (recovery opens, shows a committed snapshot at least as new as the
/// last acknowledged one, passes Check(), accepts a commit, and survives a clean reopen).
/// </summary>
internal sealed class CrashFuzzer(FuzzOptions o)
{
    private const long Capacity = 8 << 20;
    private readonly Stats _stats = new("crash", o.Seed);

    public int Run()
    {
        Log.Line($"crash mode: seed {o.Seed}, jobs {o.Jobs}, time {o.TimeSeconds} s");
        if (o.Case is { } only)
        {
            var c = Generate(Seeds.Mix(o.Seed, only));
            Log.Line($"case {only}: {c}");
            RunCase(only, c);
            Log.Line(_stats.Format(final: true));
            return _stats.Failed ? 1 : 0;
        }
        var clock = Stopwatch.StartNew();
        using (_stats.PrintPeriodically(o.StatusSeconds))
        {
            var workers = Enumerable.Range(0, o.Jobs).Select(j => new Thread(() =>
            {
                for (long i = j; i < o.MaxCases && clock.Elapsed.TotalSeconds < o.TimeSeconds; i += o.Jobs)
                    RunCase(i, Generate(Seeds.Mix(o.Seed, i)));
            }) { Name = $"crash-worker-{j}" }).ToList();
            foreach (var w in workers) w.Start();
            foreach (var w in workers) w.Join();
        }
        Log.Line(_stats.Format(final: true));
        return _stats.Failed ? 1 : 0;
    }

    private void RunCase(long index, CrashCase c)
    {
        try
        {
            var outcome = CrashRunner.Run(c, Capacity);
            try
            {
                _stats.Count(outcome.Crashed ? "crashes simulated" : "workloads finished before the crash point");
                _stats.Count("crash kind " + c.Kind);
                _stats.Count("commits started", outcome.Started);
                if (outcome.Storage.PrefaultCalls > 0) _stats.Count("cases with a tail prefault (W8)");
                var recovered = outcome.Storage.AfterCrash(c.Kind, c.Seed);
                try
                {
                    int match = CrashRunner.VerifyRecovery(recovered, c.PageSize, outcome.Snapshots, outcome.Acked, outcome.Started);
                    _stats.Count(match == outcome.Started ? "recovered the last started commit" : "recovered an earlier commit");
                    _stats.Count("recoveries verified");
                }
                finally { recovered.Release(); }
            }
            finally { outcome.Storage.Release(); }
            _stats.Case();
        }
        catch (InvariantViolation e)
        {
            _stats.Case();
            Fail(index, c, "invariant: " + FirstLine(e.Message), e);
        }
        catch (Exception e)
        {
            // The workload itself hit an error the simulation does not plan for (e.g. DatabaseFullException).
            _stats.Case();
            if (e is DatabaseFullException) { _stats.Typed(e.GetType().Name); return; }
            Fail(index, c, $"{e.GetType().Name}: {FirstLine(e.Message)}", e);
        }
    }

    private void Fail(long index, CrashCase c, string signature, Exception e)
    {
        string sig = signature.Length > 160 ? signature[..160] : signature;
        if (_stats.Violation(sig) <= 3)
        {
            string path = Artifacts.Save(o.Artifacts, $"crash-violation-s{o.Seed}-c{index}",
                $"mode: crash\nrun seed: {o.Seed}\ncase index: {index}\nreplay: dotnet MmapKv.Fuzz.dll --mode crash --seed {o.Seed} --case {index}\n" +
                $"case: {c}\n\n{e}");
            Log.Line($"VIOLATION case {index}: {sig} -> {path}.txt");
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0];

    /// <summary>The distribution of CrashSimulationTests.CaseArb, drawn from one System.Random.</summary>
    internal static CrashCase Generate(ulong caseSeed)
    {
        var r = Seeds.Rng(caseSeed);
        // The test's distribution (CrashSimulationTests.OpGen): the default tree, "alpha", "beta" (reverse), "int64",
        // "uint64", the multimap tree, and in-transaction savepoints.
        int Tree() => r.Next(7) switch { < 3 => 0, var t => t - 2 };
        int Key() => r.Next(CrashRunner.KeySpace);
        int Size() => r.Next(9) switch { < 6 => r.Next(0, 61), < 8 => r.Next(300, 1001), _ => r.Next(1100, 9001) };
        CrashOp Op()
        {
            int w = r.Next(79);
            return w switch
            {
                < 25 => new PutOp(Tree(), Key(), Size(), r.Next(0, 1 << 20)),
                < 35 => new DeleteOp(Tree(), Key()),
                < 38 => new PutManyOp(Tree(), Key(), r.Next(10, 151), r.Next(0, 151)),
                < 40 => new DeleteManyOp(Tree(), Key(), r.Next(10, 151)),
                < 52 => new CommitOp(r.Next(2) == 0 ? Durability.Immediate : Durability.Deferred),
                < 54 => new AbortOp(),
                < 57 => new FlushOp(),
                < 59 => new BeginReaderOp(),
                < 61 => new EndReaderOp(),
                < 62 => new DropTreeOp(r.Next(1, CrashRunner.MultiTree + 1)),
                < 63 => new ReopenOp(),
                < 69 => new MultiAddOp(r.Next(CrashRunner.MultiKeySpace), r.Next(CrashRunner.MultiValueSpace), 1),
                < 70 => new MultiAddOp(r.Next(CrashRunner.MultiKeySpace), r.Next(CrashRunner.MultiValueSpace), r.Next(100, 401)),
                < 73 => new MultiRemoveOp(r.Next(CrashRunner.MultiKeySpace), r.Next(CrashRunner.MultiValueSpace)),
                < 74 => new MultiRemoveAllOp(r.Next(CrashRunner.MultiKeySpace)),
                < 77 => new SavepointOp(),
                _ => new RollbackOp(r.Next(0, 4)),
            };
        }
        int pageSize = r.Next(3) == 2 ? 8192 : 4096;
        int length = r.Next(4) == 0 ? r.Next(0, 200) : r.Next(0, 60);
        var ops = Enumerable.Range(0, length).Select(_ => Op()).ToArray();
        // Aim the crash inside the workload: about two storage calls per Immediate commit, one per flush, three per reopen.
        long points = 2 + ops.Sum(op => op switch { CommitOp { Durability: Durability.Immediate } => 2, FlushOp => 1, ReopenOp => 3, _ => 0 });
        long crashAt = r.Next(10) == 0 ? r.Next(1, 61) : 1 + r.NextInt64(points);
        var kind = (CrashKind)r.Next(3);
        double wb = r.Next(3) switch { 0 => 0.0, 1 => 0.2, _ => 0.7 };
        return new CrashCase(pageSize, ops, crashAt, kind, wb, r.Next(0, int.MaxValue));
    }
}
