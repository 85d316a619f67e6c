using System.Text;

namespace MmapKv.Simulation;

public abstract record CrashOp;
public sealed record PutOp(int Tree, int Key, int Size, int Seed) : CrashOp;
public sealed record DeleteOp(int Tree, int Key) : CrashOp;
public sealed record PutManyOp(int Tree, int FirstKey, int Count, int Size) : CrashOp;
public sealed record DeleteManyOp(int Tree, int FirstKey, int Count) : CrashOp;
public sealed record CommitOp(Durability Durability) : CrashOp;
public sealed record AbortOp : CrashOp;
public sealed record FlushOp : CrashOp;
public sealed record BeginReaderOp : CrashOp;
public sealed record EndReaderOp : CrashOp;
public sealed record DropTreeOp(int Tree) : CrashOp;
public sealed record ReopenOp : CrashOp;

/// <summary>One crash scenario: a workload, where it crashes, and how the crash resolves.</summary>
public sealed record CrashCase(int PageSize, CrashOp[] Ops, long CrashAt, CrashKind Kind, double Writeback, int Seed)
{
    public override string ToString() =>
        $"PageSize={PageSize} CrashAt={CrashAt} Kind={Kind} Writeback={Writeback:F2} Seed={Seed} Ops=[{string.Join(", ", Ops.Select(o => o.ToString()))}]";
}

/// <summary>What a workload run left behind: the storage, and which committed states recovery may show.</summary>
internal sealed class CrashOutcome
{
    public required SimulatedStorage Storage { get; init; }
    /// <summary>Every state a commit could have produced, in commit order; index 0 is the empty database.</summary>
    public required List<StateModel> Snapshots { get; init; }
    /// <summary>Recovery must show a snapshot at least this new (the last Immediate commit or Flush that returned).</summary>
    public required int Acked { get; init; }
    /// <summary>... and no newer than this one (the last commit started).</summary>
    public required int Started { get; init; }
    public required bool Crashed { get; init; }
    public long SyncPoints { get; init; }
}

/// <summary>Runs crash workloads against a database on <see cref="SimulatedStorage"/> and checks recovery.</summary>
internal static class CrashRunner
{
    public static readonly string[] TreeNames = { "", "alpha", "beta" };
    public const int KeySpace = 400;

    public static byte[] Key(int k) => k % 29 == 0
        ? Encoding.UTF8.GetBytes($"k{k:D4}").Concat(Enumerable.Repeat((byte)0xEE, 120)).ToArray()
        : Encoding.UTF8.GetBytes($"key{k:D4}");

    public static byte[] Value(int size, int seed)
    {
        var v = new byte[size];
        new Random(seed).NextBytes(v);
        return v;
    }

    public static KvOptions Options(int pageSize, long capacity) =>
        new() { PageSize = pageSize, MaxSize = capacity, VerifyChecksums = true, DeferredFlushInterval = TimeSpan.Zero };

    public static SimulatedStorage NewFormatted(int pageSize, long capacity, int seed)
    {
        var sim = new SimulatedStorage(capacity, seed) { Plan = new FaultPlan { WritebackProbability = 0 } };
        MmapKv.Transactions.DatabaseFormatter.Format(sim, pageSize);
        return sim;
    }

    /// <summary>Runs the workload until it ends or the planned crash fires.</summary>
    public static CrashOutcome Run(CrashCase c, long capacity)
    {
        var sim = NewFormatted(c.PageSize, capacity, c.Seed);
        sim.Plan = new FaultPlan { CrashAt = c.CrashAt == 0 ? 0 : sim.SyncPoints + c.CrashAt, WritebackProbability = c.Writeback };
        var options = Options(c.PageSize, capacity);
        var snapshots = new List<StateModel> { new() };
        int acked = 0, started = 0, committed = 0;
        StateModel? pending = null;
        WriteTransaction? tx = null;
        var readers = new List<(ReadTransaction Tx, StateModel Expected)>();
        KvDatabase? db = null;
        bool crashed = false;
        try
        {
            db = KvDatabase.Open("sim", sim, options);
            foreach (var op in c.Ops)
            {
                switch (op)
                {
                    case PutOp p:
                        Put(Begin(), p.Tree, Key(p.Key), Value(p.Size, p.Seed));
                        break;
                    case DeleteOp d:
                        Delete(Begin(), d.Tree, Key(d.Key));
                        break;
                    case PutManyOp pm:
                        Begin();
                        for (int i = 0; i < pm.Count; i++)
                        {
                            int k = (pm.FirstKey + i) % KeySpace;
                            Put(tx!, pm.Tree, Key(k), Value(pm.Size, k));
                        }
                        break;
                    case DeleteManyOp dm:
                        Begin();
                        for (int i = 0; i < dm.Count; i++) Delete(tx!, dm.Tree, Key((dm.FirstKey + i) % KeySpace));
                        break;
                    case DropTreeOp dt:
                        Begin().DeleteTree(TreeNames[dt.Tree]);
                        pending!.Trees.Remove(TreeNames[dt.Tree]);
                        break;
                    case CommitOp co when tx is not null:
                        snapshots.Add(pending!);
                        started = snapshots.Count - 1;
                        var t = tx;
                        tx = null;
                        t.Commit(co.Durability);
                        committed = started;
                        if (co.Durability == Durability.Immediate) acked = started;
                        break;
                    case AbortOp when tx is not null:
                        tx.Dispose();
                        tx = null;
                        break;
                    case FlushOp:
                        db.Flush();
                        acked = started;
                        break;
                    case BeginReaderOp:
                        readers.Add((db.BeginRead(), snapshots[committed]));
                        break;
                    case EndReaderOp when readers.Count > 0:
                    {
                        var (r, expected) = readers[0];
                        readers.RemoveAt(0);
                        var seen = StateModel.Read(r);
                        r.Dispose();
                        if (!seen.SameAs(expected)) throw new InvariantViolation("a long-lived reader's snapshot changed under it");
                        break;
                    }
                    case ReopenOp:
                        tx?.Dispose();
                        tx = null;
                        foreach (var (r, _) in readers) r.Dispose();
                        readers.Clear();
                        db.Dispose();
                        acked = started; // a clean close flushes
                        db = KvDatabase.Open("sim", sim, options);
                        break;
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
            if (!crashed) sim.Plan.CrashAt = sim.SyncPoints + 1; // the process dies here: nothing more reaches storage
            try { tx?.Dispose(); } catch (Exception) { }
            foreach (var (r, _) in readers) try { r.Dispose(); } catch (Exception) { }
            try { db?.Dispose(); } catch (Exception) { }
        }
        return new CrashOutcome { Storage = sim, Snapshots = snapshots, Acked = acked, Started = started, Crashed = crashed, SyncPoints = sim.SyncPoints };

        WriteTransaction Begin()
        {
            if (tx is null)
            {
                tx = db!.BeginWrite();
                pending = snapshots[committed].Clone();
            }
            return tx;
        }

        void Put(WriteTransaction w, int tree, byte[] key, byte[] value)
        {
            if (tree == 0) w.Put(key, value);
            else w.OpenTree(TreeNames[tree]).Put(key, value);
            pending!.Tree(TreeNames[tree])[key] = value;
        }

        void Delete(WriteTransaction w, int tree, byte[] key)
        {
            bool removed = tree == 0 ? w.Delete(key) : w.OpenTree(TreeNames[tree]).Delete(key);
            bool expected = pending!.Tree(TreeNames[tree]).Remove(key);
            if (removed != expected) throw new InvariantViolation($"Delete returned {removed}, model says {expected}");
        }
    }

    /// <summary>
    /// Checks the recovery properties V1–V4 (docs/durability.md §10.1) on <paramref name="recovered"/>: it opens; it shows exactly one committed
    /// snapshot between <paramref name="acked"/> and <paramref name="started"/>; Check() passes; it accepts a new
    /// commit, and a clean close and reopen gives identical contents. Returns the index of the snapshot found.
    /// </summary>
    public static int VerifyRecovery(SimulatedStorage recovered, int pageSize, List<StateModel> snapshots, int acked, int started)
    {
        var options = Options(pageSize, recovered.Capacity);
        KvDatabase db;
        try { db = KvDatabase.Open("sim", recovered, options); }
        catch (Exception e) { throw new InvariantViolation($"invariant 1: open failed after the crash: {e.GetType().Name}: {e.Message}", e); }
        StateModel state;
        int match;
        try
        {
            using (var tx = db.BeginRead()) state = StateModel.Read(tx);
            match = -1;
            for (int i = started; i >= acked; i--)
                if (snapshots[i].SameAs(state)) { match = i; break; }
            if (match < 0)
            {
                int anywhere = snapshots.FindIndex(s => s.SameAs(state));
                throw new InvariantViolation($"invariant 2: recovered state ({state}) is not a snapshot in [{acked}, {started}]" +
                    (anywhere >= 0 ? $"; it equals snapshot {anywhere}" : "; it equals no committed snapshot"));
            }
            var report = db.Check();
            if (!report.IsValid) throw new InvariantViolation("invariant 3: Check() failed after recovery: " + report);
            using (var w = db.BeginWrite())
            {
                w.Put("after-crash"u8, "ok"u8);
                w.Commit();
            }
        }
        finally
        {
            db.Dispose();
        }
        var expected = state.Clone();
        expected.Tree("")["after-crash"u8.ToArray()] = "ok"u8.ToArray();
        using (var again = KvDatabase.Open("sim", recovered, options))
        {
            using var tx = again.BeginRead();
            if (!StateModel.Read(tx).SameAs(expected)) throw new InvariantViolation("invariant 4: contents changed across a clean close and reopen");
            var report = again.Check();
            if (!report.IsValid) throw new InvariantViolation("invariant 4: Check() failed after reopen: " + report);
        }
        return match;
    }
}

/// <summary>A broken crash invariant.</summary>
public sealed class InvariantViolation : Exception
{
    public InvariantViolation(string message, Exception? inner = null) : base(message, inner) { }
}
