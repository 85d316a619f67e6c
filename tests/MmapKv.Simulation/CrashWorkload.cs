using System.Buffers.Binary;
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
/// <summary>Drops a named tree: 1–4 are the plain trees of <see cref="CrashRunner.PlainTreeNames"/>, 5 the multimap tree.</summary>
public sealed record DropTreeOp(int Tree) : CrashOp;
public sealed record ReopenOp : CrashOp;
/// <summary>Adds <paramref name="Count"/> values, <paramref name="FirstValue"/> on, to one key of the multimap tree.</summary>
public sealed record MultiAddOp(int Key, int FirstValue, int Count) : CrashOp;
public sealed record MultiRemoveOp(int Key, int Value) : CrashOp;
public sealed record MultiRemoveAllOp(int Key) : CrashOp;
/// <summary>Makes a savepoint in the open write transaction (beginning one if none is open).</summary>
public sealed record SavepointOp : CrashOp;
/// <summary>Rolls back to a savepoint of the open transaction: the newest when <paramref name="Back"/> is 0, older
/// ones as it grows (modulo how many there are); nothing when there is none.</summary>
public sealed record RollbackOp(int Back) : CrashOp;

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
    /// <summary>The trees whose keys are <see cref="Key"/>'s (other tests write these with any key).</summary>
    public static readonly string[] TreeNames = { "", "alpha", "beta" };

    /// <summary>The plain trees a workload's tree index names: <see cref="TreeNames"/>, then two integer-ordered trees.</summary>
    public static readonly string[] PlainTreeNames = { "", "alpha", "beta", "int64", "uint64" };

    /// <summary>The multimap tree (tree index 5 of <see cref="DropTreeOp"/>).</summary>
    public const string MultiTreeName = "multi";
    public const int MultiTree = 5;

    /// <summary>"beta" is ordered in reverse, "int64" and "uint64" numerically (docs/design.md §16), so crashes also
    /// hit non-bytewise trees. Readers open trees by name and take the stored order; the model compares contents,
    /// and <see cref="StateModel.Read(ReadTransaction)"/> checks each tree's keys come out in its order.</summary>
    public static KeyOrder OrderOf(int tree) => tree switch { 2 => KeyOrder.Reverse, 3 => KeyOrder.Int64, 4 => KeyOrder.UInt64, _ => KeyOrder.Bytewise };
    public const int KeySpace = 400;
    public const int MultiKeySpace = 24;
    public const int MultiValueSpace = 1200;

    public static byte[] Key(int k) => k % 29 == 0
        ? Encoding.UTF8.GetBytes($"k{k:D4}").Concat(Enumerable.Repeat((byte)0xEE, 120)).ToArray()
        : Encoding.UTF8.GetBytes($"key{k:D4}");

    /// <summary>Key <paramref name="k"/> of plain tree <paramref name="tree"/>: 8-byte little-endian integers for the
    /// integer-ordered trees, <see cref="Key"/> for the others.</summary>
    public static byte[] KeyFor(int tree, int k)
    {
        if (tree < 3) return Key(k);
        var key = new byte[8];
        if (tree == 3) BinaryPrimitives.WriteInt64LittleEndian(key, Int64Of(k));
        else BinaryPrimitives.WriteUInt64LittleEndian(key, UInt64Of(k));
        return key;
    }

    /// <summary>Signed keys around zero, both signs, and the extremes, so numeric and bytewise order disagree.</summary>
    public static long Int64Of(int k) => (k % 53) switch
    {
        0 => long.MinValue + k,
        1 => long.MaxValue - k,
        _ => (k - KeySpace / 2) * (k % 3 == 0 ? 7_919_000_003L : 7_919L),
    };

    public static ulong UInt64Of(int k) => (k % 53) switch
    {
        0 => ulong.MaxValue - (ulong)k,
        1 => (ulong)k,
        _ => (ulong)k * 0x9E3779B97F4A7C15UL,
    };

    /// <summary>Multimap keys: short ones, ones with 0x00 bytes (escaped in the composite key) and a long one.</summary>
    public static byte[] MultiKey(int k) => (k % 7, k % 11) switch
    {
        (0, _) => new byte[] { 0, (byte)k, 0 },
        (_, 0) => Encoding.UTF8.GetBytes($"mk{k:D2}").Concat(Enumerable.Repeat((byte)'M', 200)).ToArray(),
        _ => Encoding.UTF8.GetBytes($"mk{k:D2}"),
    };

    /// <summary>Multimap values: the empty value, values with 0x00 bytes, longer ones, short text.</summary>
    public static byte[] MultiValue(int v) => v == 0 ? Array.Empty<byte>()
        : v % 13 == 0 ? new byte[] { 0, (byte)(v >> 8), (byte)v, 0 }
        : v % 17 == 0 ? Encoding.UTF8.GetBytes($"val{v:D4}").Concat(Enumerable.Repeat((byte)v, 200)).ToArray()
        : Encoding.UTF8.GetBytes($"val{v:D4}");

    public static byte[] Value(int size, int seed)
    {
        var v = new byte[size];
        new Random(seed).NextBytes(v);
        return v;
    }

    public static KvOptions Options(int pageSize, long capacity) =>
        new() { PageSize = pageSize, MaxSize = capacity, VerifyChecksums = true, DeferredFlushInterval = TimeSpan.Zero };

    /// <summary>
    /// The free-map delta's capacity for a case (docs/format.md §7.5): in a file of a few hundred keys the format's 256
    /// entries are never reached, so three cases in four fold every commit, every few commits or every few dozen, and
    /// the crash points fall in folds of non-empty deltas too. Recovery opens with the default.
    /// </summary>
    public static int? DeltaCapacityFor(int seed) => (seed & 3) switch { 0 => 0, 1 => 3, 2 => 16, _ => null };

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
        var options = Options(c.PageSize, capacity) with { FreeMapDeltaCapacity = DeltaCapacityFor(c.Seed) };
        var snapshots = new List<StateModel> { new() };
        int acked = 0, started = 0, committed = 0;
        StateModel? pending = null;
        WriteTransaction? tx = null;
        var savepoints = new List<(Savepoint Point, StateModel State)>(); // of tx, oldest first
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
                        Put(Begin(), p.Tree, KeyFor(p.Tree, p.Key), Value(p.Size, p.Seed));
                        break;
                    case DeleteOp d:
                        Delete(Begin(), d.Tree, KeyFor(d.Tree, d.Key));
                        break;
                    case PutManyOp pm:
                        Begin();
                        for (int i = 0; i < pm.Count; i++)
                        {
                            int k = (pm.FirstKey + i) % KeySpace;
                            Put(tx!.Value, pm.Tree, KeyFor(pm.Tree, k), Value(pm.Size, k));
                        }
                        break;
                    case DeleteManyOp dm:
                        Begin();
                        for (int i = 0; i < dm.Count; i++) Delete(tx!.Value, dm.Tree, KeyFor(dm.Tree, (dm.FirstKey + i) % KeySpace));
                        break;
                    case DropTreeOp dt:
                    {
                        string name = dt.Tree == MultiTree ? MultiTreeName : PlainTreeNames[dt.Tree];
                        bool dropped = Begin().DeleteTree(name);
                        if (dropped != pending!.RemoveTree(name)) throw new InvariantViolation($"DeleteTree('{name}') returned {dropped}, the model disagrees");
                        break;
                    }
                    case MultiAddOp ma:
                    {
                        var mt = Begin().OpenMultiTree(MultiTreeName);
                        byte[] key = MultiKey(ma.Key);
                        var model = pending!.MultiTree(MultiTreeName);
                        if (!model.TryGetValue(key, out var set)) set = new SortedSet<byte[]>(ByteOrder.Instance);
                        for (int i = 0; i < ma.Count; i++)
                        {
                            byte[] value = MultiValue((ma.FirstValue + i) % MultiValueSpace);
                            if (mt.Add(key, value) != set.Add(value)) throw new InvariantViolation("multimap Add disagrees with the model");
                        }
                        if (set.Count > 0) model[key] = set;
                        if (mt.Count(key) != set.Count) throw new InvariantViolation($"multimap Count is {mt.Count(key)}, the model says {set.Count}");
                        break;
                    }
                    case MultiRemoveOp mr:
                    {
                        var mt = Begin().OpenMultiTree(MultiTreeName);
                        byte[] key = MultiKey(mr.Key), value = MultiValue(mr.Value % MultiValueSpace);
                        var model = pending!.MultiTree(MultiTreeName);
                        bool expected = model.TryGetValue(key, out var set) && set.Remove(value);
                        if (set is { Count: 0 }) model.Remove(key);
                        if (mt.Remove(key, value) != expected) throw new InvariantViolation("multimap Remove disagrees with the model");
                        break;
                    }
                    case MultiRemoveAllOp mra:
                    {
                        var mt = Begin().OpenMultiTree(MultiTreeName);
                        byte[] key = MultiKey(mra.Key);
                        var model = pending!.MultiTree(MultiTreeName);
                        long expected = model.Remove(key, out var set) ? set.Count : 0;
                        long removed = mt.RemoveAll(key);
                        if (removed != expected) throw new InvariantViolation($"multimap RemoveAll removed {removed}, the model says {expected}");
                        break;
                    }
                    case SavepointOp:
                        savepoints.Add((Begin().CreateSavepoint(), pending!.Clone()));
                        break;
                    case RollbackOp rb when tx is not null && savepoints.Count > 0:
                    {
                        int at = savepoints.Count - 1 - rb.Back % savepoints.Count;
                        tx.Value.RollbackTo(savepoints[at].Point);
                        savepoints.RemoveRange(at + 1, savepoints.Count - at - 1);
                        pending = savepoints[at].State.Clone();
                        if (!StateModel.Read(tx.Value).SameAs(pending))
                            throw new InvariantViolation($"after RollbackTo the transaction shows ({StateModel.Read(tx.Value)}), not its savepoint's state ({pending})");
                        break;
                    }
                    case CommitOp co when tx is not null:
                        snapshots.Add(pending!);
                        started = snapshots.Count - 1;
                        var t = tx.Value;
                        tx = null;
                        savepoints.Clear();
                        t.Commit(co.Durability);
                        committed = started;
                        if (co.Durability == Durability.Immediate) acked = started;
                        break;
                    case AbortOp when tx is not null:
                        tx.Value.Dispose();
                        tx = null;
                        savepoints.Clear();
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
                        savepoints.Clear();
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
            return tx.Value;
        }

        void Put(WriteTransaction w, int tree, byte[] key, byte[] value)
        {
            // Every other put goes through Reserve (filled in place), so the crash properties cover it too.
            bool reserve = ((key.Length + value.Length) & 1) == 1;
            if (tree == 0)
            {
                if (reserve) value.CopyTo(w.Reserve(key, value.Length));
                else w.Put(key, value);
            }
            else
            {
                var t = w.OpenTree(PlainTreeNames[tree], OrderOf(tree));
                if (reserve) value.CopyTo(t.Reserve(key, value.Length));
                else t.Put(key, value);
            }
            pending!.Tree(PlainTreeNames[tree])[key] = value;
        }

        void Delete(WriteTransaction w, int tree, byte[] key)
        {
            bool removed = tree == 0 ? w.Delete(key) : w.OpenTree(PlainTreeNames[tree], OrderOf(tree)).Delete(key);
            bool expected = pending!.Tree(PlainTreeNames[tree]).Remove(key);
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
