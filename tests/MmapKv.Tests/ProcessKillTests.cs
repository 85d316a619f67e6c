using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace MmapKv.Tests;

/// <summary>
/// Real processes, real SIGKILL: a child commits with Immediate durability and acknowledges each commit on
/// stdout; the parent kills it at a random moment and verifies that every acknowledged commit survived, that no
/// commit is partly visible, and that Check() passes. (Power loss is covered by the simulation tests.)
/// </summary>
public class ProcessKillTests(ITestOutputHelper output)
{
    internal static string ChildDll => Path.Combine(AppContext.BaseDirectory, "MmapKv.CrashChild.dll");

    [Theory]
    [InlineData(1, 3)]
    [InlineData(4, 2)]
    public void Sigkill_AtRandomMoments_KeepsEveryAcknowledgedCommit(int threads, int iterations)
    {
        using var dir = new TempDir();
        string db = dir.File();
        var rng = new Random(threads * 1000 + Environment.TickCount % 1000);
        long next = 0, totalAcked = 0;
        for (int i = 0; i < iterations; i++)
        {
            long maxAcked = RunAndKill(db, next, threads, TimeSpan.FromMilliseconds(rng.Next(150, 900)), out long acks);
            totalAcked += acks;
            long last = Verify(db, maxAcked);
            next = last + 1;
            output.WriteLine($"iteration {i}: {acks} commits acknowledged, last acknowledged {maxAcked}, recovered last {last}");
        }
        Assert.True(totalAcked > 0, "the child never acknowledged a commit");
    }

    /// <summary>Starts the child, kills it with SIGKILL after <paramref name="after"/>, returns the highest acknowledged commit.</summary>
    internal static long RunAndKill(string db, long first, int threads, TimeSpan after, out long acks)
    {
        var psi = new ProcessStartInfo("dotnet", new[] { ChildDll, db, first.ToString(), threads.ToString() })
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
                long n = long.Parse(line.AsSpan(4));
                Interlocked.Increment(ref count);
                long seen;
                while ((seen = Interlocked.Read(ref max)) < n && Interlocked.CompareExchange(ref max, n, seen) != seen) { }
                firstAck.Set();
            }
        });
        bool started = firstAck.Wait(TimeSpan.FromSeconds(30));
        if (started) Thread.Sleep(after);
        child.Kill(entireProcessTree: true); // SIGKILL
        child.WaitForExit();
        reader.Wait(TimeSpan.FromSeconds(10));
        if (!started) throw new Xunit.Sdk.XunitException("the child did not start committing: " + errors);
        acks = Interlocked.Read(ref count);
        return Interlocked.Read(ref max);
    }

    /// <summary>Checks the database after a kill; returns the last commit it holds.</summary>
    internal static long Verify(string path, long maxAcked)
    {
        using var db = KvDatabase.Open(path);
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
        using var tx = db.BeginRead();
        Assert.True(tx.TryGet("last"u8, out var lastBytes), "no commit survived");
        long last = BitConverter.ToInt64(lastBytes);
        Assert.True(last >= maxAcked, $"acknowledged commit {maxAcked} lost; the database ends at {last}");
        // The child keeps the 50 newest commits: each must be whole, and nothing newer than 'last' may exist.
        for (long n = Math.Max(0, last - 49); n <= last; n++)
            foreach (char part in "abc")
            {
                Assert.True(tx.TryGet(Key(n, part), out var v), $"commit {n} is missing part {part}");
                Assert.Equal($"value {n}{part}", Encoding.UTF8.GetString(v));
            }
        using var c = tx.OpenCursor();
        int entries = 0;
        for (bool ok = c.Seek("c"u8); ok && c.Key[0] == (byte)'c'; ok = c.Next())
        {
            long n = long.Parse(Encoding.UTF8.GetString(c.Key[1..11]));
            Assert.InRange(n, last - 49, last);
            entries++;
        }
        long window = Math.Min(50, last + 1);
        long overflow = Enumerable.Range(0, (int)window).Count(i => (last - i) % 7 == 0);
        Assert.Equal(window * 3 + overflow, entries);
        return last;
    }

    private static byte[] Key(long n, char part) => Encoding.UTF8.GetBytes($"c{n:D10}/{part}");
}
