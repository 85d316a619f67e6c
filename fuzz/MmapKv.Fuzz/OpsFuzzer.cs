using System.Diagnostics;
using System.Text;
using MmapKv.Simulation;

namespace MmapKv.Fuzz;

/// <summary>
/// Ops mode: random operation sequences (puts and overwrites of small, boundary and overflow values, deletes, named
/// trees, cursor walks, commits in both durabilities, aborts, readers, flushes, clean and crash reopens) against a
/// model, on <see cref="SimulatedStorage"/>, with an I/O-error countdown: now and then one upcoming msync, fsync,
/// growth (ENOSPC or EIO) is set to fail. The injected error must surface as the documented exception; afterwards
/// the database must behave as documented (poisoned for writes after a sync failure with reads intact, usable after
/// ENOSPC), and a reopen after a simulated crash must show a committed state and pass Check().
/// </summary>
internal sealed class OpsFuzzer(FuzzOptions o)
{
    private readonly Stats _stats = new("ops", o.Seed);

    public int Run()
    {
        Log.Line($"ops mode: seed {o.Seed}, jobs {o.Jobs}, time {o.TimeSeconds} s");
        if (o.Case is { } only)
        {
            RunCase(only, verbose: true);
            Log.Line(_stats.Format(final: true));
            return _stats.Failed ? 1 : 0;
        }
        var clock = Stopwatch.StartNew();
        using (_stats.PrintPeriodically(o.StatusSeconds))
        {
            var workers = Enumerable.Range(0, o.Jobs).Select(j => new Thread(() =>
            {
                for (long i = j; i < o.MaxCases && clock.Elapsed.TotalSeconds < o.TimeSeconds; i += o.Jobs) RunCase(i, o.Verbose);
            }) { Name = $"ops-worker-{j}" }).ToList();
            foreach (var w in workers) w.Start();
            foreach (var w in workers) w.Join();
        }
        Log.Line(_stats.Format(final: true));
        return _stats.Failed ? 1 : 0;
    }

    private void RunCase(long index, bool verbose)
    {
        var run = new OpsRun(Seeds.Mix(o.Seed, index), _stats, verbose);
        try
        {
            run.Execute();
        }
        catch (Exception e)
        {
            string sig = e is OpsViolation ? e.Message.Split('\n')[0] : $"{e.GetType().Name} at {e.TargetSite?.DeclaringType?.Name}.{e.TargetSite?.Name}";
            if (sig.Length > 160) sig = sig[..160];
            if (_stats.Violation(sig) <= 3)
            {
                string path = Artifacts.Save(o.Artifacts, $"ops-violation-s{o.Seed}-c{index}",
                    $"mode: ops\nrun seed: {o.Seed}\ncase index: {index}\nreplay: dotnet MmapKv.Fuzz.dll --mode ops --seed {o.Seed} --case {index} --verbose\n\n" +
                    $"last operations:\n{run.Trace}\n\n{e}");
                Log.Line($"VIOLATION ops case {index}: {sig} -> {path}.txt");
            }
        }
        finally
        {
            run.Release();
            _stats.Case();
        }
    }
}

internal sealed class OpsViolation(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One ops-mode case: a database on simulated storage, its model, and the fault currently armed.</summary>
internal sealed class OpsRun
{
    private enum Fault { None, FailFlush, FailSync, NoSpaceAtGrow, FailGrow }

    private const long Capacity = 24L << 20;
    private static readonly string[] TreeNames = { "", "t1", "t2", "t3", "long" };

    private readonly Random _r;
    private readonly Stats _stats;
    private readonly bool _verbose;
    private readonly int _pageSize;
    private readonly KvOptions _options;
    private readonly Queue<string> _trace = new();
    private SimulatedStorage _sim;
    private KvDatabase? _db;
    private WriteTransaction? _tx;
    private StateModel? _pending;
    private StateModel _committed = new();
    private long _committedTxn;
    private readonly Dictionary<long, StateModel> _history = new();
    private readonly List<(ReadTransaction Tx, StateModel Expected)> _readers = new();
    private Fault _armed;
    private bool _eioThisBoot, _tainted;
    private readonly bool _powerLossAfterEio = Environment.GetEnvironmentVariable("MMAPKV_FUZZ_POWERLOSS_AFTER_EIO") == "1";

    public string Trace => string.Join("\n", _trace);

    public OpsRun(ulong caseSeed, Stats stats, bool verbose)
    {
        _r = Seeds.Rng(caseSeed);
        _stats = stats;
        _verbose = verbose;
        _pageSize = _r.Next(10) switch { < 6 => 4096, < 8 => 8192, _ => 16384 };
        _options = new KvOptions
        {
            PageSize = _pageSize,
            MaxSize = Capacity,
            VerifyChecksums = _r.Next(2) == 0,
            DeferredFlushInterval = TimeSpan.Zero,
            DeferredFlushBytes = _r.Next(3) == 0 ? _pageSize * _r.Next(4, 64) : 64L << 20,
        };
        _sim = CrashRunner.NewFormatted(_pageSize, Capacity, _r.Next());
        _sim.Plan = new FaultPlan { WritebackProbability = _r.Next(3) == 0 ? 0.3 : 0 };
        _history[0] = new StateModel();
    }

    private void Step(string what)
    {
        _trace.Enqueue(what);
        if (_trace.Count > 60) _trace.Dequeue();
        if (_verbose) Log.Line("  " + what);
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new OpsViolation(message);
    }

    private string TreeName() => TreeNames[_r.Next(10) switch { < 5 => 0, < 7 => 1, 7 => 2, 8 => 3, _ => 4 }] is "long" and var n
        ? n + new string('L', Limits(_pageSize) - 4) : TreeNames[_r.Next(4)];

    private static int Limits(int pageSize) => MmapKv.Format.Limits.MaxKeySize(pageSize);

    private byte[] Key()
    {
        int k = _r.Next(600);
        string s = (k % 11) switch
        {
            0 => $"k{k}",
            1 => new string('p', 200) + k.ToString("D4", System.Globalization.CultureInfo.InvariantCulture),
            2 when k % 3 == 0 => new string('m', Limits(_pageSize) - 4) + k.ToString("D4", System.Globalization.CultureInfo.InvariantCulture),
            _ => $"key{k:D5}",
        };
        return Encoding.UTF8.GetBytes(s);
    }

    private byte[] Value(int keyLength)
    {
        int inlineMax = MmapKv.Format.Limits.MaxEntrySize(_pageSize) - 12 - keyLength;
        int size = _r.Next(100) switch
        {
            < 5 => 0,
            < 55 => _r.Next(1, 50),
            < 75 => _r.Next(200, 1000),
            < 82 => Math.Max(0, inlineMax + _r.Next(-2, 3)),
            < 96 => _r.Next(_pageSize, 3 * _pageSize),
            _ => _r.Next(20_000, 40_000),
        };
        var v = new byte[size];
        _r.NextBytes(v);
        return v;
    }

    private KvDatabase Db => _db ?? throw new OpsViolation("no open database");

    public void Execute()
    {
        Step($"page size {_pageSize}, verify checksums {_options.VerifyChecksums}");
        Open("open");
        int steps = _r.Next(40, 400);
        int faultRate = _r.Next(4) == 0 ? 0 : _r.Next(1, 8); // percent per step
        for (int i = 0; i < steps; i++)
        {
            if (_armed == Fault.None && _r.Next(100) < faultRate) Arm();
            string op = PickOp();
            try
            {
                Do(op);
                // A full disk need not surface: growth falls back to smaller steps, reclaims the quarantine, and
                // deletes may use the reserve (docs/durability.md §5.1). Then the operation must simply have worked,
                // which the model checks; the disk gets its space back.
                if (_armed == Fault.NoSpaceAtGrow && Fired()) { _stats.Count("faults absorbed NoSpaceAtGrow"); Disarm(); }
                Require(_armed == Fault.None || !Fired(), $"the injected {_armed} fired during '{op}' but no exception surfaced");
            }
            catch (OpsViolation) { throw; }
            catch (Exception e) { OnError(op, e); }
        }
        // Finish: commit or drop what is open, close cleanly, reopen, compare and check.
        try
        {
            if (_tx is not null) Do("commit");
            Do("reopen");
        }
        catch (OpsViolation) { throw; }
        catch (Exception e)
        {
            OnError("final", e);
            Do("crash-reopen");
        }
        Verify("final");
        _stats.Count("ops executed", steps);
    }

    private string PickOp() => _r.Next(100) switch
    {
        < 35 => "put",
        < 47 => "delete",
        < 50 => "tree-delete",
        < 53 => "tree-open",
        < 58 => "get",
        < 61 => "cursor",
        < 75 => "commit",
        < 78 => "abort",
        < 81 => "flush",
        < 84 => "reader-begin",
        < 87 => "reader-end",
        < 89 => "verify",
        < 93 => "reopen",
        < 97 => "crash-reopen",
        _ => "put-many",
    };

    // ---------------------------------------------------------------- faults

    private void Arm()
    {
        var plan = _sim.Plan;
        int k = _r.Next(1, 4);
        _armed = (Fault)_r.Next(1, 5);
        switch (_armed)
        {
            case Fault.FailFlush: plan.FailFlushAt = _sim.FlushCalls + k; break;
            case Fault.FailSync: plan.FailSyncAt = _sim.SyncCalls + k; break;
            case Fault.NoSpaceAtGrow: plan.NoSpaceAtGrow = _sim.GrowCalls + k; plan.NoSpaceStays = _r.Next(2) == 0; break;
            case Fault.FailGrow: plan.FailGrowAt = _sim.GrowCalls + k; break;
        }
        _stats.Count("faults armed " + _armed);
        Step($"arm {_armed} in {k} calls");
    }

    private bool Fired() => _armed switch
    {
        Fault.FailFlush => _sim.FlushCalls >= _sim.Plan.FailFlushAt,
        Fault.FailSync => _sim.SyncCalls >= _sim.Plan.FailSyncAt,
        Fault.NoSpaceAtGrow => _sim.GrowCalls >= _sim.Plan.NoSpaceAtGrow,
        Fault.FailGrow => _sim.GrowCalls >= _sim.Plan.FailGrowAt,
        _ => false,
    };

    private void Disarm()
    {
        _sim.Plan.FailFlushAt = _sim.Plan.FailSyncAt = _sim.Plan.NoSpaceAtGrow = _sim.Plan.FailGrowAt = 0;
        _sim.Plan.NoSpaceStays = false;
        _armed = Fault.None;
    }

    /// <summary>An operation threw: it must be the armed fault, surfacing as its documented exception.</summary>
    private void OnError(string op, Exception e)
    {
        bool fired = _armed != Fault.None && Fired();
        Step($"  -> {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        if (e is DatabaseFullException && !fired && _sim.Length > Capacity / 2)
        {
            _stats.Typed("DatabaseFullException (capacity)");
            AfterFull(op);
            return;
        }
        if (!fired) throw new OpsViolation($"'{op}' threw {e.GetType().Name} with no fault injected: {e.Message}", e);
        var fault = _armed;
        Disarm();
        bool expected = fault == Fault.NoSpaceAtGrow ? e is DatabaseFullException : e is StorageFailedException;
        if (!expected) throw new OpsViolation($"injected {fault} surfaced from '{op}' as {e.GetType().Name} (expected {(fault == Fault.NoSpaceAtGrow ? "DatabaseFullException" : "StorageFailedException")}): {e.Message}", e);
        _stats.Typed(e.GetType().Name);
        _stats.Count($"faults surfaced {fault}");
        if (fault != Fault.NoSpaceAtGrow) _eioThisBoot = true;
        if (fault == Fault.NoSpaceAtGrow) AfterFull(op);
        else if (op == "reopen-open" || _db is null) Open("open after a failed open"); // an open whose fsync failed: a later open works
        else AfterStorageFailure(op);
    }

    /// <summary>ENOSPC: the transaction is aborted, nothing committed is lost, and the database stays writable.</summary>
    private void AfterFull(string op)
    {
        if (_tx is not null)
        {
            bool ended;
            try { _tx.Value.Put("after-full"u8, "x"u8); ended = false; }
            catch (InvalidOperationException) { ended = true; } // ObjectDisposedException included
            Require(ended, $"the write transaction is still usable after DatabaseFullException in '{op}'");
            _tx.Value.Dispose();
            _tx = null;
            _pending = null;
        }
        // A commit that ran out of space was not published.
        SyncCommitted();
        using (var w = Db.BeginWrite()) w.Dispose(); // not poisoned
        Verify("after DatabaseFullException");
    }

    /// <summary>A failed msync or fsync: writes are refused until reopen, reads show the published state; then a crash and recovery.</summary>
    private void AfterStorageFailure(string op)
    {
        if (_tx is not null)
        {
            try { _tx.Value.Dispose(); } catch (Exception) { }
            _tx = null;
        }
        SyncCommitted();
        _pending = null;
        bool refused = false;
        try { using var w = Db.BeginWrite(); }
        catch (StorageFailedException) { refused = true; }
        Require(refused, $"BeginWrite succeeded after a StorageFailedException in '{op}' (the database must be poisoned)");
        // Flush must not report durability it lacks: with commits not durable it fails; with none, it may return.
        bool pending = Db.LastTxnId > Db.DurableTxnId;
        refused = false;
        try { Db.Flush(); }
        catch (StorageFailedException) { refused = true; }
        Require(refused || (!pending && Db.DurableTxnId == Db.LastTxnId), $"Flush succeeded after a StorageFailedException in '{op}' with commits not durable");
        Verify("reads after StorageFailedException");
        _stats.Count("poisoned then recovered");
        CrashReopen();
    }

    /// <summary>After a failed commit, learn from the database whether it was published (visibility precedes durability).</summary>
    private void SyncCommitted()
    {
        long last = Db.LastTxnId;
        if (last == _committedTxn) return;
        Require(last == _committedTxn + 1 && _pending is not null, $"txn {last} is visible, but the last commit was {_committedTxn} and {(_pending is null ? "none" : "one")} was in progress");
        _history[last] = _pending!.Clone();
        _committed = _pending.Clone();
        _committedTxn = last;
    }

    // ---------------------------------------------------------------- operations

    private WriteTransaction Tx()
    {
        if (_tx is null)
        {
            _tx = Db.BeginWrite();
            _pending = _committed.Clone();
        }
        return _tx.Value;
    }

    private KvTree? Tree(WriteTransaction tx, string name) => name.Length == 0 ? null : tx.OpenTree(name);

    private void Do(string op)
    {
        Step(op);
        switch (op)
        {
            case "put":
            {
                var tx = Tx();
                string name = TreeName();
                var key = Key();
                var value = Value(key.Length);
                var t = Tree(tx, name);
                _pending!.Tree(name); // opening creates the tree
                if (t is null) tx.Put(key, value); else t.Put(key, value);
                _pending.Tree(name)[key] = value;
                break;
            }
            case "put-many":
            {
                var tx = Tx();
                string name = TreeName();
                var t = Tree(tx, name);
                _pending!.Tree(name);
                int n = _r.Next(20, 200);
                for (int i = 0; i < n; i++)
                {
                    var key = Key();
                    var value = new byte[_r.Next(0, 120)];
                    _r.NextBytes(value);
                    if (t is null) tx.Put(key, value); else t.Put(key, value);
                    _pending.Tree(name)[key] = value;
                }
                break;
            }
            case "delete":
            {
                var tx = Tx();
                string name = TreeName();
                if (name.Length > 0 && !_pending!.Trees.ContainsKey(name)) break; // Delete through OpenTree would create it
                var key = _r.Next(3) == 0 && _pending!.Tree(name).Count > 0 ? _pending.Tree(name).Keys.ElementAt(_r.Next(_pending.Tree(name).Count)) : Key();
                var t = Tree(tx, name);
                bool removed = t is null ? tx.Delete(key) : t.Delete(key);
                bool expected = _pending!.Tree(name).Remove(key);
                Require(removed == expected, $"Delete returned {removed}, the model says {expected}");
                break;
            }
            case "tree-delete":
            {
                var tx = Tx();
                string name = TreeNames[_r.Next(1, TreeNames.Length)];
                if (name == "long") name += new string('L', Limits(_pageSize) - 4);
                bool removed = tx.DeleteTree(name);
                bool expected = _pending!.Trees.Remove(name);
                Require(removed == expected, $"DeleteTree returned {removed}, the model says {expected}");
                break;
            }
            case "tree-open":
            {
                var tx = Tx();
                string name = TreeNames[_r.Next(1, TreeNames.Length)];
                tx.OpenTree(name);
                _pending!.Tree(name);
                var names = tx.GetTreeNames();
                Require(names.SequenceEqual(_pending.Trees.Keys.Where(n => n.Length > 0).OrderBy(n => Encoding.UTF8.GetBytes(n), ByteOrder.Instance)),
                    $"GetTreeNames in the write transaction: [{string.Join(",", names)}] vs model [{string.Join(",", _pending.Trees.Keys)}]");
                break;
            }
            case "get":
            {
                var tx = Tx();
                foreach (var (name, tree) in _pending!.Trees)
                {
                    for (int i = 0; i < 5; i++)
                    {
                        var key = _r.Next(2) == 0 && tree.Count > 0 ? tree.Keys.ElementAt(_r.Next(tree.Count)) : Key();
                        bool found;
                        ReadOnlySpan<byte> v;
                        if (name.Length == 0) found = tx.TryGet(key, out v);
                        else found = tx.OpenTree(name).TryGet(key, out v);
                        bool exists = tree.TryGetValue(key, out var expected);
                        Require(found == exists && (!found || v.SequenceEqual(expected)), $"TryGet in tree '{Short(name)}' disagrees with the model");
                    }
                }
                break;
            }
            case "cursor":
            {
                // A cursor in the write transaction, with writes between its moves.
                var tx = Tx();
                var tree = _pending!.Tree("");
                using var c = tx.OpenCursor();
                var from = Key();
                bool ok = c.Seek(from);
                var expectedKey = tree.Keys.FirstOrDefault(k => ByteOrder.Instance.Compare(k, from) >= 0);
                Require(ok == (expectedKey is not null) && (!ok || c.Key.SequenceEqual(expectedKey)), "Seek disagrees with the model");
                for (int i = 0; ok && i < 20; i++)
                {
                    var at = c.Key.ToArray();
                    if (_r.Next(4) == 0)
                    {
                        var k = Key();
                        var v = Value(k.Length);
                        tx.Put(k, v);
                        tree[k] = v;
                    }
                    ok = c.Next();
                    var next = tree.Keys.FirstOrDefault(k => ByteOrder.Instance.Compare(k, at) > 0);
                    Require(ok == (next is not null) && (!ok || c.Key.SequenceEqual(next)), "Next after a write disagrees with the model");
                    if (ok) Require(c.Value.SequenceEqual(tree[next!]), "cursor value disagrees with the model");
                }
                break;
            }
            case "commit":
            {
                if (_tx is null) break;
                var durability = _r.Next(2) == 0 ? Durability.Immediate : Durability.Deferred;
                var tx = _tx.Value;
                long before = Db.LastTxnId;
                tx.Commit(durability);
                _tx = null;
                long after = Db.LastTxnId;
                if (after != before)
                {
                    Require(after == before + 1, $"commit moved the txn id from {before} to {after}");
                    _history[after] = _pending!.Clone();
                    _committed = _pending;
                    _committedTxn = after;
                    _stats.Count("commits " + durability);
                    if (durability == Durability.Immediate) Require(Db.DurableTxnId >= after, "an Immediate commit returned before it was durable");
                }
                else Require(_pending!.SameAs(_committed), "a commit without a new txn id changed the contents");
                _pending = null;
                break;
            }
            case "abort":
                _tx?.Dispose();
                _tx = null;
                _pending = null;
                break;
            case "flush":
                Db.Flush();
                Require(Db.DurableTxnId == Db.LastTxnId, "Flush returned with commits not durable");
                break;
            case "reader-begin":
                if (_readers.Count < 4) _readers.Add((Db.BeginRead(), _committed.Clone()));
                break;
            case "reader-end":
                if (_readers.Count > 0)
                {
                    var (rtx, expected) = _readers[0];
                    _readers.RemoveAt(0);
                    var seen = StateModel.Read(rtx);
                    rtx.Dispose();
                    Require(seen.SameAs(expected), "a long-lived reader's snapshot changed under it");
                }
                break;
            case "verify":
                Verify("verify");
                break;
            case "reopen":
            {
                _tx?.Dispose();
                _tx = null;
                _pending = null;
                EndReaders();
                var db = _db;
                _db = null;
                db?.Dispose(); // a clean close flushes
                Step("reopen-open");
                Open("reopen");
                Verify("after a clean reopen");
                _stats.Count("clean reopens");
                break;
            }
            case "crash-reopen":
                CrashReopen();
                break;
        }
    }

    private static string DebugSim(SimulatedStorage sim, int ps)
    {
        // Diagnostics for --verbose only: the simulator's private set of lost sectors, if it still has one.
        var field = typeof(SimulatedStorage).GetField("_lost", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        var lostPages = field?.GetValue(sim) is System.Collections.IDictionary lost
            ? lost.Keys.Cast<long>().Select(s => s / ps).Distinct().OrderBy(p => p).Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : new[] { "n/a" };
        var dirtyPages = sim.DirtySectors().Select(s => s / ps).Distinct().OrderBy(p => p);
        return $"lost pages [{string.Join(",", lostPages)}], dirty pages [{string.Join(",", dirtyPages)}]";
    }

    private static string Short(string name) => name.Length > 12 ? name[..12] + "…" : name;

    private void EndReaders()
    {
        foreach (var (rtx, expected) in _readers)
        {
            var seen = StateModel.Read(rtx);
            rtx.Dispose();
            Require(seen.SameAs(expected), "a long-lived reader's snapshot changed under it");
        }
        _readers.Clear();
    }

    private void Open(string why)
    {
        if (_eioThisBoot) _tainted = true;
        try { _db = KvDatabase.Open("sim", _sim, _options); }
        catch (StorageFailedException) when (_armed == Fault.FailSync && Fired())
        {
            Disarm();
            _eioThisBoot = _tainted = true;
            _stats.Typed("StorageFailedException");
            _stats.Count("faults surfaced FailSync");
            Step("  -> open failed on the injected fsync error; opening again");
            _db = KvDatabase.Open("sim", _sim, _options);
        }
        if (_verbose) Step($"opened txn {Db.LastTxnId}: {DebugSim(_sim, _pageSize)}");
        Require(_history.ContainsKey(Db.LastTxnId), $"{why}: opened txn {Db.LastTxnId}, which was never committed");
        Forget(Db.LastTxnId);
    }

    /// <summary>
    /// The process dies (or the machine loses power) now. Recovery must show a committed state at least as new as the
    /// durable one, and pass Check().
    /// </summary>
    private void CrashReopen()
    {
        long durable = _db?.DurableTxnId ?? 0;
        long latest = _db?.LastTxnId ?? 0;
        var kind = _r.Next(3) == 0 ? CrashKind.PowerLoss : CrashKind.ProcessKill;
        if (kind == CrashKind.PowerLoss && _tainted && !_powerLossAfterEio)
        {
            // After an injected EIO, this boot's page cache may hold pages the kernel believes clean but never wrote
            // (docs/durability.md A7). Writing on in the same boot (a reopen, or recovery from a process kill) can
            // reuse such a page without storing to all of it; a later power loss then exposes stale sectors under a
            // new checksum. That scenario is reported separately (set MMAPKV_FUZZ_POWERLOSS_AFTER_EIO=1 to run it).
            kind = CrashKind.ProcessKill;
            _stats.Count("power losses replaced by kills after a same-boot EIO");
        }
        if (kind == CrashKind.PowerLoss) _eioThisBoot = _tainted = false; // a restart: the cache is gone
        else if (_eioThisBoot) _tainted = true;
        if (_verbose) Step($"before {kind}: {DebugSim(_sim, _pageSize)}");
        var after = _sim.AfterCrash(kind, _r.Next());
        // Abandon the old instance: a killed process runs no more code, so it is not disposed (its storage is freed).
        _tx = null;
        _pending = null;
        _readers.Clear();
        _db = null;
        _sim.Release();
        _sim = after;
        _sim.Plan = new FaultPlan { WritebackProbability = 0 };
        _armed = Fault.None;
        try { _db = KvDatabase.Open("sim", _sim, _options); }
        catch (Exception e) { throw new OpsViolation($"open after a {kind} failed: {e.GetType().Name}: {e.Message}", e); }
        long recovered = Db.LastTxnId;
        Require(recovered >= durable && recovered <= latest, $"after a {kind} the database is at txn {recovered}, outside [durable {durable}, latest {latest}]");
        Require(_history.ContainsKey(recovered), $"recovered txn {recovered} was never committed");
        Forget(recovered);
        Step($"crash ({kind}) recovered txn {recovered} (durable {durable}, latest {latest})");
        _stats.Count($"crash reopens ({kind})");
        if (recovered == durable) _stats.Count("recovered exactly the durable txn");
        Verify($"after a {kind}");
    }

    /// <summary>The database is at <paramref name="txn"/>: it is the committed state; the states after it are a lost future.</summary>
    private void Forget(long txn)
    {
        _committed = _history[txn].Clone();
        _committedTxn = txn;
        foreach (long t in _history.Keys.Where(t => t > txn).ToList()) _history.Remove(t);
    }

    /// <summary>A fresh read transaction shows the committed model; Check() passes.</summary>
    private void Verify(string when)
    {
        using (var rtx = Db.BeginRead())
        {
            var seen = StateModel.Read(rtx);
            Require(seen.SameAs(_committed), $"{when}: contents differ from the model (txn {rtx.TxnId}): db {seen} vs model {_committed}");
        }
        var report = Db.Check();
        Require(report.IsValid, $"{when}: Check() failed: {report}");
        _stats.Count("verifications");
    }

    public void Release()
    {
        try { _tx?.Dispose(); } catch (Exception) { }
        foreach (var (rtx, _) in _readers) try { rtx.Dispose(); } catch (Exception) { }
        try { _db?.Dispose(); } catch (Exception) { }
        _sim.Release();
    }
}
