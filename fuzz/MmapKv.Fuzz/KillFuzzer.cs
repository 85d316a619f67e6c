using System.Diagnostics;
using MmapKv.Simulation;

namespace MmapKv.Fuzz;

/// <summary>
/// Kill mode: the real-process SIGKILL loop of tests/MmapKv.Tests/ProcessKillTests.cs, for as long as the time
/// budget allows. MmapKv.CrashChild commits with Immediate durability (1 or 4 threads) and acknowledges each commit;
/// it is killed at a random moment, and the file must then pass Check(), hold every acknowledged commit, and show
/// no commit partly.
/// </summary>
internal sealed class KillFuzzer(FuzzOptions o)
{
    private const int IterationsPerFile = 8;
    private readonly Stats _stats = new("kill", o.Seed);

    private static string ChildDll => Path.Combine(AppContext.BaseDirectory, "MmapKv.CrashChild.dll");

    public int Run()
    {
        Log.Line($"kill mode: seed {o.Seed}, time {o.TimeSeconds} s, child {ChildDll}");
        if (!File.Exists(ChildDll)) throw new UsageException($"{ChildDll} is missing; build fuzz/MmapKv.Fuzz (it references MmapKv.CrashChild)");
        // A real file system by default (msync and fsync cost what they cost), as the test does.
        string root = o.WorkDir ?? Path.GetTempPath();
        string work = Path.Combine(root, $"mmapkv-kill-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        var clock = Stopwatch.StartNew();
        var rng = Seeds.Rng(o.Seed);
        try
        {
            using (_stats.PrintPeriodically(o.StatusSeconds))
            {
                for (int file = 0; clock.Elapsed.TotalSeconds < o.TimeSeconds && _stats.Cases < o.MaxCases; file++)
                {
                    string db = Path.Combine(work, $"kill-{file}.mkv");
                    int threads = rng.Next(2) == 0 ? 1 : 4;
                    long next = 0;
                    for (int i = 0; i < IterationsPerFile && clock.Elapsed.TotalSeconds < o.TimeSeconds; i++)
                    {
                        int delay = rng.Next(5) == 0 ? rng.Next(0, 40) : rng.Next(100, 900);
                        try
                        {
                            long maxAcked = KillHarness.RunAndKill(ChildDll, db, next, threads, TimeSpan.FromMilliseconds(delay), out long acks);
                            _stats.Count($"acknowledged commits ({threads} thread{(threads == 1 ? "" : "s")})", acks);
                            long last = KillHarness.Verify(db, maxAcked);
                            _stats.Count("recovered past the last acknowledged commit", last > maxAcked ? 1 : 0);
                            next = last + 1;
                            _stats.Case();
                            _stats.Count($"kills ({threads} thread{(threads == 1 ? "" : "s")})");
                        }
                        catch (InvariantViolation e)
                        {
                            _stats.Case();
                            string sig = e.Message.Length > 120 ? e.Message[..120] : e.Message;
                            if (_stats.Violation(sig) <= 3)
                            {
                                string keep = Artifacts.Save(o.Artifacts, $"kill-violation-s{o.Seed}-f{file}-i{i}",
                                    $"mode: kill\nrun seed: {o.Seed}\nthreads: {threads}\nfirst commit: {next}\ndelay ms: {delay}\n\n{e}",
                                    File.Exists(db) ? File.ReadAllBytes(db) : null);
                                Log.Line($"VIOLATION: {e.Message} -> {keep}");
                            }
                            break; // the file is suspect: start a new one
                        }
                    }
                    File.Delete(db);
                }
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (Exception) { }
        }
        Log.Line(_stats.Format(final: true));
        return _stats.Failed ? 1 : 0;
    }

}
