using System.Diagnostics;
using System.Text;

namespace MmapKv.Simulation;

/// <summary>
/// The real-process SIGKILL check shared by tests/MmapKv.Tests/ProcessKillTests.cs and the fuzzer's kill mode.
/// MmapKv.CrashChild commits with Immediate durability and acknowledges each commit on stdout ("ACK n"); each commit
/// n writes n/a, n/b, n/c (and n/o, an overflow value, when n % 7 == 0), sets "last" to n, and deletes commit n-50.
/// </summary>
public static class KillHarness
{
    private static void Require(bool condition, string message)
    {
        if (!condition) throw new InvariantViolation(message);
    }

    /// <summary>
    /// The child's options (tests/MmapKv.CrashChild/Program.cs): MMAPKV_TEST_MAX_SIZE (bytes) replaces the default
    /// 256 GiB map where one that large cannot be had, as under QEMU user mode (.ci/arm64).
    /// </summary>
    private static KvOptions Options() =>
        long.TryParse(Environment.GetEnvironmentVariable("MMAPKV_TEST_MAX_SIZE"), out long max) ? new KvOptions { MaxSize = max } : new KvOptions();

    /// <summary>Starts the child, kills it with SIGKILL <paramref name="after"/> its first acknowledgement; returns the highest acknowledged commit.</summary>
    public static long RunAndKill(string childDll, string db, long first, int threads, TimeSpan after, out long acks)
    {
        long max = first - 1, count = 0;
        KillAfterFirstAck([childDll, db, first.ToString(System.Globalization.CultureInfo.InvariantCulture), threads.ToString(System.Globalization.CultureInfo.InvariantCulture)], after, ack =>
        {
            long n = long.Parse(ack, provider: System.Globalization.CultureInfo.InvariantCulture);
            Interlocked.Increment(ref count);
            long seen;
            while ((seen = Interlocked.Read(ref max)) < n && Interlocked.CompareExchange(ref max, n, seen) != seen) { }
        });
        acks = Interlocked.Read(ref count);
        return Interlocked.Read(ref max);
    }

    /// <summary>
    /// Runs the child <c><paramref name="args"/>[0]</c> (a dll, started by <see cref="ChildLauncher"/>) with the rest of
    /// <paramref name="args"/>, waits for its first "ACK ..." line on stdout (at most 60 s), lets it
    /// run <paramref name="after"/> more, and kills it with SIGKILL. Every acknowledgement's text after "ACK " goes to
    /// <paramref name="onAck"/> (on a reader thread). Throws <see cref="InvariantViolation"/> if the child never
    /// acknowledged or exited by itself before the kill.
    /// </summary>
    public static void KillAfterFirstAck(string[] args, TimeSpan after, Action<string>? onAck = null)
    {
        using var child = Process.Start(ChildLauncher.For(args[0], args[1..]))!;
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
                onAck?.Invoke(line[4..]);
                firstAck.Set();
            }
        });
        bool started = firstAck.Wait(TimeSpan.FromSeconds(60));
        if (started) Thread.Sleep(after);
        bool exitedEarly = child.HasExited;
        // The child starts no processes of its own; walking the tree fails under Wine (a system process there has
        // no valid start time).
        try { child.Kill(); } catch (InvalidOperationException) { }
        child.WaitForExit();
        reader.Wait(TimeSpan.FromSeconds(10));
        if (!started) throw new InvariantViolation("the child did not start committing: " + errors);
        if (exitedEarly) throw new InvariantViolation($"the child exited by itself (code {child.ExitCode}): {errors}");
    }

    /// <summary>
    /// Checks the database after a kill: it opens, passes Check(), holds every acknowledged commit, and shows each of
    /// the 50 newest commits whole and nothing outside that window. Returns the last commit it holds.
    /// </summary>
    public static long Verify(string path, long maxAcked)
    {
        KvDatabase db;
        try { db = KvDatabase.Open(path, Options()); }
        catch (Exception e) { throw new InvariantViolation($"open after the kill failed: {e.GetType().Name}: {e.Message}", e); }
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
