using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Crash simulation with persistent savepoints (docs/format.md §13.4): random workloads of commits, savepoint
/// creations, deletions and restores run on <see cref="SimulatedStorage"/> and crash at a random sync point (a
/// process kill, or a power loss with or without garbage in the torn sectors). The recovered file must open, show one
/// state between the last acknowledged and the last started one, with exactly that state's savepoints, pass
/// Check(), and every savepoint it lists must still restore to exactly what it captured: the pages it keeps
/// survived the crash. Replay with MMAPKV_PROP_SEED (printed); MMAPKV_CRASH_ITERS sets the number of cases.
/// </summary>
public class PersistentSavepointCrashTests(ITestOutputHelper output)
{
    private const long Capacity = 64 << 20;

    /// <summary>One state the workload committed (or was committing): the trees, and each savepoint with what it captured.</summary>
    private sealed record State(SavepointModel Trees, List<(long Id, SavepointModel Captured)> Savepoints)
    {
        public State With(SavepointModel trees) => new(trees, Savepoints);
    }

    [Fact]
    public void RandomWorkloadsWithSavepoints_RecoverToACommittedStateWithItsSavepoints()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_CRASH_ITERS"), out int n) && n > 0 ? n / 4 + 1 : 60;
        ulong seed = PropertyRunner.Seed();
        output.WriteLine($"savepoint crash cases: {cases}, seed {seed} (MMAPKV_PROP_SEED={seed} replays)");
        var master = new Random((int)(seed ^ (seed >> 32)));
        int crashed = 0;
        for (int c = 0; c < cases; c++)
        {
            int caseSeed = master.Next();
            try { if (RunCase(caseSeed)) crashed++; }
            catch (Exception e) { throw new Exception($"seed {seed}, case {c} (case seed {caseSeed}): {e.Message}", e); }
        }
        output.WriteLine($"crashes verified: {crashed} of {cases} cases");
        Assert.True(crashed >= cases / 2, $"only {crashed} of {cases} cases reached their crash point");
    }

    /// <summary>Runs one case; returns whether it crashed (a case may end before its crash point).</summary>
    private static bool RunCase(int caseSeed)
    {
        var rng = new Random(caseSeed);
        int pageSize = rng.Next(3) == 0 ? 8192 : 4096;
        var sim = CrashRunner.NewFormatted(pageSize, Capacity, caseSeed);
        var options = CrashRunner.Options(pageSize, Capacity);
        var states = new List<State> { new(new SavepointModel(), []) };
        var log = new List<string>();
        int acked = 0;
        var db = KvDatabase.Open("sim", sim, options);
        var current = states[0];
        // Build some history first, then arm the crash somewhere in what follows.
        bool armed = false, crashed = false;
        try
        {
            for (int step = 0; step < 60; step++)
            {
                if (!armed && step == 8)
                {
                    sim.Plan = new FaultPlan { CrashAt = sim.SyncPoints + rng.Next(1, 40), WritebackProbability = rng.NextDouble() < 0.5 ? 0.0 : 0.5 };
                    armed = true;
                }
                int what = rng.Next(100);
                var durability = rng.Next(3) == 0 ? Durability.Immediate : Durability.Deferred;
                if (what < 50)
                {
                    var model = current.Trees.Copy();
                    string op = SavepointModel.Write(db, model, rng, (staged, d) =>
                    {
                        states.Add(current.With(staged.Copy())); // in flight: may be what recovery shows
                        durability = d;
                    });
                    if (!op.StartsWith("commit", StringComparison.Ordinal)) continue; // aborted: nothing committed, nothing flushed
                    current = states[^1];
                    log.Add($"{op} {durability} -> state {states.Count - 1} txn {LastTxn(db)}");
                }
                else if (what < 62 && current.Savepoints.Count < 10)
                {
                    // The id is known only once it returns; the state in flight is recorded with the id it will get.
                    long expectedId = LastTxn(db) + 1;
                    states.Add(new State(current.Trees, [.. current.Savepoints, (expectedId, current.Trees.Copy())]));
                    long id = db.CreatePersistentSavepoint(durability);
                    Assert.Equal(expectedId, id);
                    current = states[^1];
                    log.Add($"create {id} {durability} -> state {states.Count - 1}");
                }
                else if (what < 72 && current.Savepoints.Count > 0)
                {
                    int i = rng.Next(current.Savepoints.Count);
                    var left = current.Savepoints.Where((_, j) => j != i).ToList();
                    states.Add(new State(current.Trees, left));
                    Assert.True(db.DeletePersistentSavepoint(current.Savepoints[i].Id, durability));
                    current = states[^1];
                    log.Add($"delete {current.Savepoints.Count} {durability} -> state {states.Count - 1} txn {LastTxn(db)}");
                }
                else if (what < 82 && current.Savepoints.Count > 0)
                {
                    int i = rng.Next(current.Savepoints.Count);
                    states.Add(new State(current.Savepoints[i].Captured.Copy(), current.Savepoints.Take(i + 1).ToList()));
                    db.RestoreSavepoint(current.Savepoints[i].Id, durability);
                    current = states[^1];
                    log.Add($"restore {durability} -> state {states.Count - 1} txn {LastTxn(db)}");
                }
                else if (what < 90)
                {
                    db.Flush();
                    acked = states.IndexOf(current);
                    log.Add($"flush -> acked {acked}");
                    continue;
                }
                else continue;
                if (durability == Durability.Immediate && ReferenceEquals(states[^1], current)) acked = states.Count - 1;
            }
        }
        catch (SimulatedCrashException) { crashed = true; }
        catch (Exception e) when (sim.Crashed) { _ = e; crashed = true; } // a failure caused by the crash itself
        finally
        {
            // After the crash nothing more reaches storage from this process. A case that ended before its crash
            // point closes normally instead: armed, its close (the shrink is a sync point) would crash outside the
            // try, and a real failure on its way out would be replaced by that crash.
            sim.Plan.CrashAt = crashed ? sim.SyncPoints + 1 : 0;
            try { db.Dispose(); } catch (Exception) when (crashed) { }
        }
        if (!crashed) { sim.Release(); return false; }
        var kind = rng.Next(3) switch { 0 => CrashKind.ProcessKill, 1 => CrashKind.PowerLoss, _ => CrashKind.PowerLossWithGarbage };
        var recovered = sim.AfterCrash(kind, caseSeed);
        try { Verify(recovered, options, states, acked); }
        catch (Exception e) { throw new Exception(e.Message + "\nops:\n" + string.Join("\n", log), e); }
        finally
        {
            recovered.Release();
            sim.Release();
        }
        return true;
    }

    private static long LastTxn(KvDatabase db)
    {
        using var tx = db.BeginRead();
        return tx.TxnId;
    }

    private static void Verify(SimulatedStorage recovered, KvOptions options, List<State> states, int acked)
    {
        using var db = KvDatabase.Open("sim", recovered, options);
        var trees = PersistentSavepointTests.Snapshot(db);
        var ids = db.GetPersistentSavepoints().Select(s => s.Id).ToList();
        int match = -1;
        for (int i = states.Count - 1; i >= acked; i--)
            if (Same(states[i].Trees.Expected(), trees) && states[i].Savepoints.Select(s => s.Id).SequenceEqual(ids)) { match = i; break; }
        if (match < 0)
        {
            var lines = states.Select((st, i) => $"  state {i}: savepoints [{string.Join(", ", st.Savepoints.Select(x => x.Id))}], trees {(Same(st.Trees.Expected(), trees) ? "match" : "differ")}");
            Assert.Fail($"the recovered state (savepoints [{string.Join(", ", ids)}]) is none of states {acked}..{states.Count - 1}:\n{string.Join("\n", lines)}");
        }
        PersistentSavepointTests.AssertValid(db);
        // Every savepoint listed restores to what it captured, newest first.
        var kept = states[match].Savepoints;
        for (int i = kept.Count - 1; i >= 0; i--)
        {
            db.RestoreSavepoint(kept[i].Id);
            Assert.True(Same(kept[i].Captured.Expected(), PersistentSavepointTests.Snapshot(db)), $"savepoint {kept[i].Id} did not restore to what it captured");
        }
        PersistentSavepointTests.AssertValid(db);
    }

    private static bool Same(SortedDictionary<string, List<string>> a, SortedDictionary<string, List<string>> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v.SequenceEqual(p.Value));
}
