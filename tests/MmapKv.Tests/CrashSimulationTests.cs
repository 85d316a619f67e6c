using FsCheck;
using FsCheck.Fluent;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Crash simulation (docs/durability.md §10): workloads run on <see cref="SimulatedStorage"/>, crash at chosen sync points,
/// and recovery must satisfy V1–V4. Random runs are FsCheck properties with printed, replayable seeds
/// (MMAPKV_PROP_SEED) and shrinking; MMAPKV_CRASH_ITERS sets their count.
/// </summary>
public class CrashSimulationTests(ITestOutputHelper output)
{
    private const long SmallCapacity = 2 << 20;
    private const long Capacity = 8 << 20;
    private static long s_crashes;

    private static int CrashIterations(int defaultCount) =>
        int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_CRASH_ITERS"), out int n) && n > 0 ? n : defaultCount;

    // Plain trees: the default tree, "alpha", "beta" (reverse), "int64" and "uint64" (integer orders).
    private static readonly Gen<int> TreeGen = Gen.Frequency(
        (3, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)), (1, Gen.Constant(4)));
    private static readonly Gen<int> KeyGen = Gen.Choose(0, CrashRunner.KeySpace - 1);
    private static readonly Gen<int> SizeGen = Gen.Frequency((6, Gen.Choose(0, 60)), (2, Gen.Choose(300, 1000)), (1, Gen.Choose(1100, 9000)));
    private static readonly Gen<int> MultiKeyGen = Gen.Choose(0, CrashRunner.MultiKeySpace - 1);
    private static readonly Gen<int> MultiValueGen = Gen.Choose(0, CrashRunner.MultiValueSpace - 1);

    // One more operation kind (a persistent savepoint, say): a record in CrashWorkload.cs, a case in CrashRunner.Run's
    // switch, and a line here.
    private static readonly Gen<CrashOp> OpGen = Gen.Frequency(
        (25, from t in TreeGen from k in KeyGen from s in SizeGen from seed in Gen.Choose(0, 1 << 20) select (CrashOp)new PutOp(t, k, s, seed)),
        (10, from t in TreeGen from k in KeyGen select (CrashOp)new DeleteOp(t, k)),
        (3, from t in TreeGen from k in KeyGen from n in Gen.Choose(10, 150) from s in Gen.Choose(0, 150) select (CrashOp)new PutManyOp(t, k, n, s)),
        (2, from t in TreeGen from k in KeyGen from n in Gen.Choose(10, 150) select (CrashOp)new DeleteManyOp(t, k, n)),
        (12, from d in Gen.Elements(Durability.Immediate, Durability.Deferred) select (CrashOp)new CommitOp(d)),
        (2, Gen.Constant((CrashOp)new AbortOp())),
        (3, Gen.Constant((CrashOp)new FlushOp())),
        (2, Gen.Constant((CrashOp)new BeginReaderOp())),
        (2, Gen.Constant((CrashOp)new EndReaderOp())),
        (1, from t in Gen.Choose(1, CrashRunner.MultiTree) select (CrashOp)new DropTreeOp(t)),
        (1, Gen.Constant((CrashOp)new ReopenOp())),
        // Multimap: mostly single adds, sometimes a key's set grows by hundreds of values.
        (6, from k in MultiKeyGen from v in MultiValueGen select (CrashOp)new MultiAddOp(k, v, 1)),
        (1, from k in MultiKeyGen from v in MultiValueGen from n in Gen.Choose(100, 400) select (CrashOp)new MultiAddOp(k, v, n)),
        (3, from k in MultiKeyGen from v in MultiValueGen select (CrashOp)new MultiRemoveOp(k, v)),
        (1, from k in MultiKeyGen select (CrashOp)new MultiRemoveAllOp(k)),
        (3, Gen.Constant((CrashOp)new SavepointOp())),
        (2, from b in Gen.Choose(0, 3) select (CrashOp)new RollbackOp(b)));

    private static Arbitrary<CrashCase> CaseArb()
    {
        var gen = from ps in Gen.Elements(4096, 4096, 8192)
                  from ops in Gen.ArrayOf(OpGen)
                  from crashAt in Gen.Choose(1, 60)
                  from kind in Gen.Elements(CrashKind.ProcessKill, CrashKind.PowerLoss, CrashKind.PowerLossWithGarbage)
                  from wb in Gen.Elements(0.0, 0.2, 0.7)
                  from seed in Gen.Choose(0, int.MaxValue)
                  select new CrashCase(ps, ops, crashAt, kind, wb, seed);
        return Arb.From(gen, c => PropertyRunner.ShrinkList(c.Ops).Select(o => c with { Ops = o })
            .Concat(c.CrashAt > 1 ? new[] { c with { CrashAt = c.CrashAt / 2 } } : Array.Empty<CrashCase>()));
    }

    [Fact]
    public void RandomWorkloads_RecoverToACommittedSnapshot()
    {
        long before = Interlocked.Read(ref s_crashes);
        PropertyRunner.Run("crash", CaseArb(), c =>
        {
            var outcome = CrashRunner.Run(c, Capacity);
            try
            {
                var recovered = outcome.Storage.AfterCrash(c.Kind, c.Seed);
                CrashRunner.VerifyRecovery(recovered, c.PageSize, outcome.Snapshots, outcome.Acked, outcome.Started);
                recovered.Release();
                Interlocked.Increment(ref s_crashes);
            }
            finally { outcome.Storage.Release(); }
        }, CrashIterations(400));
        output.WriteLine($"simulated crashes verified: {Interlocked.Read(ref s_crashes) - before}");
    }

    /// <summary>Short workloads of 1–3 transactions, crashed at every sync point with every enumerable writeback subset.</summary>
    public static TheoryData<string> ShortWorkloads => new(ShortCases.Keys);

    private static readonly Dictionary<string, CrashOp[]> ShortCases = new()
    {
        ["one put, immediate"] = new CrashOp[] { new PutOp(0, 1, 10, 1), new CommitOp(Durability.Immediate) },
        ["two txns, overwrite and delete"] = new CrashOp[]
        {
            new PutOp(0, 1, 10, 1), new PutOp(0, 2, 10, 2), new CommitOp(Durability.Immediate),
            new PutOp(0, 1, 20, 3), new DeleteOp(0, 2), new CommitOp(Durability.Immediate),
        },
        ["split then merge, deferred then flush"] = new CrashOp[]
        {
            new PutManyOp(0, 0, 60, 100), new CommitOp(Durability.Immediate),
            new DeleteManyOp(0, 0, 50), new CommitOp(Durability.Deferred), new FlushOp(),
        },
        ["overflow values, deferred then immediate"] = new CrashOp[]
        {
            new PutOp(0, 5, 6000, 9), new CommitOp(Durability.Deferred),
            new PutOp(0, 6, 10, 1), new DeleteOp(0, 5), new CommitOp(Durability.Immediate),
        },
        ["named trees create and drop"] = new CrashOp[]
        {
            new PutOp(1, 3, 10, 1), new PutOp(2, 4, 10, 1), new CommitOp(Durability.Immediate),
            new DropTreeOp(1), new PutOp(0, 7, 10, 2), new CommitOp(Durability.Immediate),
            new PutOp(2, 8, 3000, 3), new CommitOp(Durability.Deferred),
        },
        ["integer trees, multimap and savepoints"] = new CrashOp[]
        {
            new PutManyOp(3, 0, 30, 20), new PutManyOp(4, 0, 30, 20), new MultiAddOp(3, 0, 60), new CommitOp(Durability.Immediate),
            new SavepointOp(), new DeleteManyOp(3, 0, 20), new MultiRemoveAllOp(3), new SavepointOp(), new DropTreeOp(4),
            new RollbackOp(1), new MultiAddOp(5, 7, 3), new PutOp(4, 40, 10, 4), new CommitOp(Durability.Immediate),
        },
        ["long reader across reuse"] = new CrashOp[]
        {
            new PutManyOp(0, 0, 40, 50), new CommitOp(Durability.Immediate), new BeginReaderOp(),
            new PutManyOp(0, 0, 40, 60), new CommitOp(Durability.Immediate),
            new PutManyOp(0, 0, 40, 70), new CommitOp(Durability.Immediate), new EndReaderOp(),
        },
    };

    [Theory]
    [MemberData(nameof(ShortWorkloads))]
    public void ShortWorkloads_EverySyncPointAndWritebackSubset(string name)
    {
        var ops = ShortCases[name];
        // Every run of one workload has the same free-map delta capacity (CrashRunner.DeltaCapacityFor reads the seed's
        // low two bits), so each run passes the same sync points; the workloads between them cover every capacity.
        int capacityClass = ShortCases.Keys.ToList().IndexOf(name) & 3;
        // A run without a crash counts the sync points.
        var dry = CrashRunner.Run(new CrashCase(4096, ops, 0, CrashKind.ProcessKill, 0, capacityClass), SmallCapacity);
        long points = dry.SyncPoints;
        dry.Storage.Release();
        long recoveries = 0, pendingLength = 0;
        for (long k = 1; k <= points + 1; k++)
        {
            var outcome = CrashRunner.Run(new CrashCase(4096, ops, k, CrashKind.ProcessKill, 0, (int)k * 4 + capacityClass), SmallCapacity);
            try
            {
                if (outcome.Storage.LengthPending) pendingLength++;
                foreach (var recovered in Futures(outcome.Storage, (int)k))
                {
                    try { CrashRunner.VerifyRecovery(recovered, 4096, outcome.Snapshots, outcome.Acked, outcome.Started); }
                    catch (InvariantViolation e) { throw new InvariantViolation($"{name}, crash at sync point {k}: {e.Message}", e); }
                    finally { recovered.Release(); }
                    recoveries++;
                }
            }
            finally { outcome.Storage.Release(); }
        }
        Interlocked.Add(ref s_crashes, recoveries);
        output.WriteLine($"{name}: {points} sync points ({pendingLength} with a grown length not yet durable), {recoveries} recoveries verified");
        // Each workload's first commit grows the formatted file: some crash points fall before its flush makes the
        // new length durable (§5.1), and their futures include the meta on disk with the old length.
        Assert.True(pendingLength > 0, "no crash point fell between a growth and the flush that makes it durable");
    }

    /// <summary>
    /// Every way the crash can resolve: a process kill, and power losses with every subset of dirty pages persisted
    /// when there are at most 7 of them (otherwise 64 random subsets), the file's grown length on disk or not when
    /// no sync has made it durable yet (random in the subsets, both ways with every page persisted), plus
    /// sector-level and garbage variants.
    /// </summary>
    private static IEnumerable<SimulatedStorage> Futures(SimulatedStorage crashed, int seed)
    {
        yield return crashed.AfterCrash(CrashKind.ProcessKill, seed);
        var sectors = crashed.DirtySectors();
        var pages = sectors.Select(s => s / 4096).Distinct().ToList();
        if (pages.Count <= 7)
        {
            for (int mask = 0; mask < 1 << pages.Count; mask++)
            {
                int m = mask;
                yield return crashed.AfterCrash(CrashKind.PowerLoss, seed, i => (m >> pages.IndexOf(sectors[i] / 4096) & 1) != 0);
            }
        }
        else
        {
            for (int r = 0; r < 64; r++) yield return crashed.AfterCrash(CrashKind.PowerLoss, seed * 131 + r);
        }
        if (crashed.LengthPending)
        {
            // A growth no sync has made durable: every dirty page on disk (the meta among them) with the old length,
            // and with the new one (the flush's journal commit got through).
            yield return crashed.AfterCrash(CrashKind.PowerLoss, seed, _ => true, lengthReached: false);
            yield return crashed.AfterCrash(CrashKind.PowerLoss, seed, _ => true, lengthReached: true);
        }
        for (int r = 0; r < 8; r++) yield return crashed.AfterCrash(CrashKind.PowerLoss, seed * 7 + r); // sector-level tears
        for (int r = 0; r < 4; r++) yield return crashed.AfterCrash(CrashKind.PowerLossWithGarbage, seed * 13 + r);
    }

    /// <summary>A second crash during recovery (the open's sync) or during the first commit after it.</summary>
    [Fact]
    public void RepeatedCrashes_DuringRecoveryAndFirstCommit()
    {
        ulong seed = PropertyRunner.Seed();
        output.WriteLine($"seed {seed} (replay with MMAPKV_PROP_SEED={seed})");
        var rng = new Random((int)seed);
        int verified = 0;
        for (int iteration = 0; iteration < CrashIterations(400) / 4; iteration++)
        {
            var ops = Enumerable.Range(0, rng.Next(3, 12)).Select(_ => rng.Next(4) switch
            {
                0 => (CrashOp)new CommitOp(rng.Next(2) == 0 ? Durability.Immediate : Durability.Deferred),
                1 => new PutManyOp(rng.Next(3), rng.Next(400), rng.Next(5, 80), rng.Next(200)),
                2 => new DeleteManyOp(rng.Next(3), rng.Next(400), rng.Next(5, 60)),
                _ => new PutOp(0, rng.Next(400), rng.Next(2) == 0 ? 20 : 5000, rng.Next()),
            }).Append(new CommitOp(Durability.Immediate)).ToArray();
            var first = CrashRunner.Run(new CrashCase(4096, ops, rng.Next(1, 20), CrashKind.ProcessKill, 0.3, rng.Next()), Capacity);
            var kind1 = (CrashKind)rng.Next(2);
            var image = first.Storage.AfterCrash(kind1, rng.Next());
            first.Storage.Release();

            // What the first recovery settles on, from a clean open of a copy.
            var probe = image.Clone(1);
            StateModel settled;
            using (var db = KvDatabase.Open("sim", probe, CrashRunner.Options(4096, Capacity)))
            using (var tx = db.BeginRead()) settled = StateModel.Read(tx);
            probe.Release();

            // Second run: crash during the open's sync or during the first commit.
            long crashAt = rng.Next(1, 6);
            image.Plan = new FaultPlan { CrashAt = image.SyncPoints + crashAt, WritebackProbability = 0.3 };
            bool acked = false, started = false;
            try
            {
                using var db = KvDatabase.Open("sim", image, CrashRunner.Options(4096, Capacity));
                using var tx = db.BeginWrite();
                tx.Put("second-run"u8, "v"u8);
                started = true;
                tx.Commit(Durability.Immediate);
                acked = true;
            }
            catch (SimulatedCrashException) { }
            catch (StorageFailedException) when (image.Crashed) { }
            if (!image.Crashed) image.Plan.CrashAt = image.SyncPoints + 1;

            var candidates = first.Snapshots.Skip(first.Acked).Take(first.Started - first.Acked + 1).ToList();
            var withSecond = settled.Clone();
            withSecond.Tree("")["second-run"u8.ToArray()] = "v"u8.ToArray();
            if (started) candidates.Add(withSecond);
            int lower = acked ? candidates.Count - 1 : 0;
            var final = image.AfterCrash((CrashKind)rng.Next(3), rng.Next());
            image.Release();
            try { CrashRunner.VerifyRecovery(final, 4096, candidates, lower, candidates.Count - 1); }
            catch (InvariantViolation e) { throw new InvariantViolation($"seed {seed}, iteration {iteration}, second crash at {crashAt}: {e.Message}", e); }
            finally { final.Release(); }
            verified++;
        }
        Interlocked.Add(ref s_crashes, verified);
        output.WriteLine($"repeated-crash scenarios verified: {verified}");
    }
}
