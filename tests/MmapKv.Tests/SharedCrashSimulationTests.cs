using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Power loss with several openers of one database (docs/durability.md §14): two openers share one simulated
/// storage and one simulated lock file, take turns as the writer (so most write transactions take over from the
/// other, with its Deferred commits not yet durable), flush, and hold long readers, until the storage crashes at a
/// random sync point. The lock file dies with the machine; one process then opens the recovered image alone, and it
/// must show exactly one committed state between the last one known durable and the last one started, pass
/// Check(), and accept a commit (V1–V4).
/// </summary>
public class SharedCrashSimulationTests(ITestOutputHelper output)
{
    private const long Capacity = 64L << 20;

    [Fact]
    public void TwoOpenersTakingTurns_PowerLossAtRandomSyncPoints_RecoverToACommittedSnapshot()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_PROP_SEED"), out int s) ? s : Random.Shared.Next();
        output.WriteLine($"[shared crash] seed {seed} (replay with MMAPKV_PROP_SEED={seed})");
        var rng = new Random(seed);
        int cases = int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_SHARED_CRASH_CASES"), out int n) ? n : 150;
        int crashed = 0;
        for (int c = 0; c < cases; c++)
        {
            int caseSeed = rng.Next();
            var kind = (c % 3) switch { 0 => CrashKind.PowerLoss, 1 => CrashKind.PowerLossWithGarbage, _ => CrashKind.ProcessKill };
            try
            {
                if (RunCase(caseSeed, kind)) crashed++;
            }
            catch (InvariantViolation e)
            {
                throw new InvariantViolation($"case {c} (case seed {caseSeed}, {kind}; run seed {seed}): {e.Message}", e);
            }
        }
        output.WriteLine($"{cases} cases, {crashed} crashed mid-workload, every recovery verified");
        Assert.True(crashed > cases / 2, $"only {crashed} of {cases} cases crashed before the workload ended");
    }

    /// <summary>One workload until the planned crash; returns whether it crashed before the end.</summary>
    private static bool RunCase(int seed, CrashKind kind)
    {
        var rng = new Random(seed);
        const int pageSize = 4096;
        var sim = CrashRunner.NewFormatted(pageSize, Capacity, seed);
        var options = CrashRunner.Options(pageSize, Capacity);
        var region = new SimulatedLockRegion();
        var snapshots = new List<StateModel> { new() };
        int acked = 0, started = 0;
        bool crashed = false;
        var dbs = new KvDatabase[2];
        var readers = new List<(ReadTransaction Tx, StateModel Expected)>();
        try
        {
            dbs[0] = KvDatabase.OpenShared("sim", sim, options, region.Open());
            dbs[1] = KvDatabase.OpenShared("sim", sim, options, region.Open());
            sim.Plan = new FaultPlan { CrashAt = sim.SyncPoints + rng.Next(1, 80), WritebackProbability = rng.Next(3) * 0.3 };
            for (int step = 0; step < 60; step++)
            {
                var db = dbs[rng.Next(2)];
                int what = rng.Next(10);
                if (what == 0)
                {
                    db.Flush();
                    acked = started; // Flush covers this opener's commits and, when the writer lock is free, the other's
                    continue;
                }
                if (what == 1 && readers.Count < 3)
                {
                    readers.Add((db.BeginRead(), snapshots[started]));
                    continue;
                }
                if (what == 2 && readers.Count > 0)
                {
                    var (r, expected) = readers[0];
                    readers.RemoveAt(0);
                    var seen = StateModel.Read(r);
                    r.Dispose();
                    if (!seen.SameAs(expected)) throw new InvariantViolation("a reader's snapshot changed under it while the other opener wrote");
                    continue;
                }
                var pending = snapshots[started].Clone();
                using (var tx = db.BeginWrite())
                {
                    int ops = rng.Next(1, 40);
                    for (int i = 0; i < ops; i++)
                    {
                        int tree = rng.Next(CrashRunner.TreeNames.Length);
                        string name = CrashRunner.TreeNames[tree];
                        byte[] key = CrashRunner.Key(rng.Next(CrashRunner.KeySpace));
                        if (rng.Next(4) == 0)
                        {
                            bool removed = tree == 0 ? tx.Delete(key) : tx.OpenTree(name).Delete(key);
                            if (removed != pending.Tree(name).Remove(key)) throw new InvariantViolation("Delete disagreed with the model");
                        }
                        else
                        {
                            byte[] value = CrashRunner.Value(rng.Next(4) == 0 ? rng.Next(3000, 9000) : rng.Next(1, 200), rng.Next());
                            if (tree == 0) tx.Put(key, value);
                            else tx.OpenTree(name).Put(key, value);
                            pending.Tree(name)[key] = value;
                        }
                    }
                    snapshots.Add(pending);
                    started = snapshots.Count - 1;
                    var durability = rng.Next(3) == 0 ? Durability.Immediate : Durability.Deferred;
                    tx.Commit(durability);
                    if (durability == Durability.Immediate) acked = started;
                }
            }
        }
        catch (SimulatedCrashException)
        {
            crashed = true;
        }
        catch (StorageFailedException) when (sim.Crashed)
        {
            crashed = true;
        }
        finally
        {
            if (!crashed) sim.Plan.CrashAt = sim.SyncPoints + 1; // the machine stops here
        }
        // No Dispose: the machine is gone, openers and their lock file with it.
        try
        {
            var recovered = sim.AfterCrash(kind, seed);
            CrashRunner.VerifyRecovery(recovered, pageSize, snapshots, acked, started);
            recovered.Release();
        }
        finally { sim.Release(); }
        return crashed;
    }
}
