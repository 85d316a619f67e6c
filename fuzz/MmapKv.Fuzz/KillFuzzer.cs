using System.Diagnostics;
using System.Text;

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
                            long maxAcked = RunAndKill(db, next, threads, TimeSpan.FromMilliseconds(delay), out long acks);
                            _stats.Count($"acknowledged commits ({threads} thread{(threads == 1 ? "" : "s")})", acks);
                            long last = Verify(db, maxAcked);
                            _stats.Count("recovered past the last acknowledged commit", last > maxAcked ? 1 : 0);
                            next = last + 1;
                            _stats.Case();
                            _stats.Count($"kills ({threads} thread{(threads == 1 ? "" : "s")})");
                        }
                        catch (KillViolation e)
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

    private sealed class KillViolation(string message, Exception? inner = null) : Exception(message, inner);

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new KillViolation(message);
    }

    /// <summary>Starts the child, kills it with SIGKILL <paramref name="after"/> its first acknowledgement; returns the highest acknowledged commit.</summary>
    private static long RunAndKill(string db, long first, int threads, TimeSpan after, out long acks)
    {
        var psi = new ProcessStartInfo("dotnet", new[] { ChildDll, db, first.ToString(System.Globalization.CultureInfo.InvariantCulture), threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var child = Process.Start(psi)!;
        long max = first - 1, count = 0;
        var firstAck = new ManualResetEventSlim();
        var errors = new StringBuilder();
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        child.BeginErrorReadLine();
        var reader = Task.Run(() =>
        {
            string? line;
            while ((line = child.StandardOutput.ReadLine()) is not null)
            {
                if (!line.StartsWith("ACK ", StringComparison.Ordinal)) continue;
                long n = long.Parse(line.AsSpan(4), provider: System.Globalization.CultureInfo.InvariantCulture);
                Interlocked.Increment(ref count);
                long seen;
                while ((seen = Interlocked.Read(ref max)) < n && Interlocked.CompareExchange(ref max, n, seen) != seen) { }
                firstAck.Set();
            }
        });
        bool started = firstAck.Wait(TimeSpan.FromSeconds(60));
        if (started) Thread.Sleep(after);
        bool exitedEarly = child.HasExited;
        try { child.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        child.WaitForExit();
        reader.Wait(TimeSpan.FromSeconds(10));
        if (!started) throw new KillViolation("the child did not start committing: " + errors);
        if (exitedEarly) throw new KillViolation($"the child exited by itself (code {child.ExitCode}): {errors}");
        acks = Interlocked.Read(ref count);
        return Interlocked.Read(ref max);
    }

    /// <summary>ProcessKillTests.Verify: checks the database after a kill; returns the last commit it holds.</summary>
    private static long Verify(string path, long maxAcked)
    {
        KvDatabase db;
        try { db = KvDatabase.Open(path); }
        catch (Exception e) { throw new KillViolation($"open after the kill failed: {e.GetType().Name}: {e.Message}", e); }
        using (db)
        {
            var report = db.Check();
            Require(report.IsValid, "Check() failed after the kill: " + report);
            using var tx = db.BeginRead();
            Require(tx.TryGet("last"u8, out var lastBytes), "no commit survived");
            long last = BitConverter.ToInt64(lastBytes);
            Require(last >= maxAcked, $"acknowledged commit {maxAcked} lost; the database ends at {last}");
            for (long n = Math.Max(0, last - 49); n <= last; n++)
                foreach (char part in "abc")
                {
                    Require(tx.TryGet(Key(n, part), out var v), $"commit {n} is missing part {part}");
                    Require(Encoding.UTF8.GetString(v) == $"value {n}{part}", $"commit {n} part {part} has a wrong value");
                }
            using var c = tx.OpenCursor();
            long entries = 0;
            for (bool ok = c.Seek("c"u8); ok && c.Key[0] == (byte)'c'; ok = c.Next())
            {
                long n = long.Parse(Encoding.UTF8.GetString(c.Key[1..11]), System.Globalization.CultureInfo.InvariantCulture);
                Require(n >= last - 49 && n <= last, $"commit {n} is outside the window [{last - 49}, {last}] (partly visible or not deleted)");
                entries++;
            }
            long window = Math.Min(50, last + 1);
            long overflow = Enumerable.Range(0, (int)window).Count(i => (last - i) % 7 == 0);
            Require(entries == window * 3 + overflow, $"expected {window * 3 + overflow} entries in the window, found {entries}");
            return last;
        }
    }

    private static byte[] Key(long n, char part) => Encoding.UTF8.GetBytes($"c{n:D10}/{part}");
}
