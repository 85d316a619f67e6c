using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Random sequences of commits, aborts, tree drops, persistent-savepoint creations, deletions and restores, reopens
/// and long-lived readers, checked against a model after every step, with Check() along the way: every restore
/// gives back exactly the captured state, a reader keeps its snapshot whatever is restored or deleted meanwhile,
/// and the file's page accounting (K1–K3) stays exact. Replay a failure with MMAPKV_PROP_SEED (printed);
/// MMAPKV_PROP_ITERS scales the number of cases.
/// </summary>
public class PersistentSavepointModelTests
{
    [Fact]
    public void RandomOperations_WithPersistentSavepoints_MatchTheModel()
    {
        int cases = PropertyRunner.Iterations(12);
        ulong seed = PropertyRunner.Seed();
        Console.WriteLine($"persistent savepoint model: seed {seed} (MMAPKV_PROP_SEED={seed} replays), {cases} cases");
        var master = new Random((int)(seed ^ (seed >> 32)));
        for (int c = 0; c < cases; c++)
        {
            int caseSeed = master.Next();
            try { RunCase(caseSeed, steps: 70); }
            catch (Exception e) { throw new Exception($"seed {seed}, case {c} (case seed {caseSeed}): {e.Message}", e); }
        }
    }

    private static void RunCase(int caseSeed, int steps)
    {
        var rng = new Random(caseSeed);
        using var dir = new TempDir();
        string path = dir.File();
        var options = new KvOptions { PageSize = rng.Next(3) == 0 ? 8192 : 4096, Durability = Durability.Deferred, MaxSize = 1L << 30 };
        var db = KvDatabase.Open(path, options);
        var model = new SavepointModel();
        var savepoints = new List<(long Id, SavepointModel State)>();
        (ReadTransaction Tx, SortedDictionary<string, List<string>> Expected)? reader = null;
        try
        {
            for (int step = 0; step < steps; step++)
            {
                int what = rng.Next(100);
                string op;
                if (what < 45) op = SavepointModel.Write(db, model, rng);
                else if (what < 55 && savepoints.Count < 12)
                {
                    long id = db.CreatePersistentSavepoint(rng.Next(2) == 0 ? Durability.Immediate : Durability.Deferred);
                    Assert.True(savepoints.Count == 0 || id > savepoints[^1].Id);
                    savepoints.Add((id, model.Copy()));
                    op = $"create {id}";
                }
                else if (what < 63 && savepoints.Count > 0)
                {
                    int i = rng.Next(savepoints.Count);
                    Assert.True(db.DeletePersistentSavepoint(savepoints[i].Id));
                    op = $"delete {savepoints[i].Id}";
                    savepoints.RemoveAt(i);
                }
                else if (what < 73 && savepoints.Count > 0)
                {
                    int i = rng.Next(savepoints.Count);
                    db.RestoreSavepoint(savepoints[i].Id);
                    model = savepoints[i].State.Copy();
                    op = $"restore {savepoints[i].Id}";
                    savepoints.RemoveRange(i + 1, savepoints.Count - i - 1);
                }
                else if (what < 80)
                {
                    if (reader is { } r) { CheckReader(r.Tx, r.Expected); r.Tx.Dispose(); reader = null; }
                    db.Dispose();
                    db = KvDatabase.Open(path, options);
                    op = "reopen";
                }
                else if (what < 88)
                {
                    if (reader is { } r) { CheckReader(r.Tx, r.Expected); r.Tx.Dispose(); reader = null; op = "end reader"; }
                    else { reader = (db.BeginRead(), model.Expected()); op = "begin reader"; }
                }
                else
                {
                    var report = db.Check();
                    Assert.True(report.IsValid, string.Join("\n", report.Problems));
                    op = "check";
                }
                try
                {
                    Assert.Equal(model.Expected(), PersistentSavepointTests.Snapshot(db));
                    Assert.Equal(savepoints.Select(s => s.Id), db.GetPersistentSavepoints().Select(s => s.Id));
                }
                catch (Exception e) { throw new Exception($"step {step} ({op}): {e.Message}", e); }
            }
            if (reader is { } last) { CheckReader(last.Tx, last.Expected); last.Tx.Dispose(); }
            PersistentSavepointTests.AssertValid(db);
            // Every savepoint left still restores exactly, newest first (a restore drops the newer ones).
            for (int i = savepoints.Count - 1; i >= 0; i--)
            {
                db.RestoreSavepoint(savepoints[i].Id);
                Assert.Equal(savepoints[i].State.Expected(), PersistentSavepointTests.Snapshot(db));
            }
            foreach (var s in db.GetPersistentSavepoints()) db.DeletePersistentSavepoint(s.Id);
            var stats = db.GetStats();
            Assert.Equal(0, stats.SavepointPages);
            PersistentSavepointTests.AssertValid(db);
        }
        finally
        {
            reader?.Tx.Dispose();
            db.Dispose();
        }
    }

    private static void CheckReader(ReadTransaction tx, SortedDictionary<string, List<string>> expected)
    {
        var actual = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, _) in expected)
        {
            actual[name] = PersistentSavepointTests.EntriesOf(name.Length == 0 ? tx.OpenCursor() : tx.OpenTree(name["tree:".Length..]).OpenCursor());
        }
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Keys.Where(k => k.Length > 0).Select(k => k["tree:".Length..]).Order(StringComparer.Ordinal),
            tx.GetTreeNames().Order(StringComparer.Ordinal));
    }
}
