using MmapKv.Simulation;
using Xunit;

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
            long maxAcked = KillHarness.RunAndKill(ChildDll, db, next, threads, TimeSpan.FromMilliseconds(rng.Next(150, 900)), out long acks);
            totalAcked += acks;
            long last = KillHarness.Verify(db, maxAcked);
            next = last + 1;
            output.WriteLine($"iteration {i}: {acks} commits acknowledged, last acknowledged {maxAcked}, recovered last {last}");
        }
        Assert.True(totalAcked > 0, "the child never acknowledged a commit");
    }
}
