using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// In-transaction savepoints (W6, docs/design.md §17): a rollback undoes every write after the savepoint, in every
/// tree, and the transaction goes on; the pages written after it go back to the transaction, and the result commits
/// into a file that passes Check().
/// </summary>
public class SavepointTests
{
    private static readonly KvOptions Fast = new() { Durability = Durability.Deferred, PageSize = 4096 };

    private static byte[] K(int i) => Bytes.Of($"key{i:D6}");

    private static byte[] V(int i, int size) => ModelPropertyTests.ValueOf(size, i);

    /// <summary>Every entry of a tree, in order, as strings and value hashes.</summary>
    private static List<(string Key, string Value)> Dump(WriteTransaction tx, KvTree? tree = null) => Dump(tree is null ? tx.OpenCursor() : tree.OpenCursor());

    private static List<(string Key, string Value)> Dump(ReadTransaction tx, KvTree? tree = null) => Dump(tree is null ? tx.OpenCursor() : tree.OpenCursor());

    private static List<(string Key, string Value)> Dump(KvCursor cursor)
    {
        var list = new List<(string, string)>();
        using var c = cursor;
        for (bool ok = c.First(); ok; ok = c.Next()) list.Add((Bytes.Str(c.Key), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(c.Value))));
        return list;
    }

    private static List<(string, string)> DumpModel(SortedDictionary<byte[], byte[]> model) =>
        model.Select(p => (Bytes.Str(p.Key), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(p.Value)))).ToList();

    private static void AssertValid(KvDatabase db)
    {
        var report = db.Check();
        Assert.True(report.IsValid, string.Join("\n", report.Problems));
    }

    [Fact]
    public void RollbackTo_UndoesPutsAndDeletes_AndTheTransactionGoesOnToCommit()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File(), Fast))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 100; i++) tx.Put(K(i), V(i, 10));
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                tx.Put(K(1000), V(1, 5)); // before the savepoint: kept
                var sp = tx.CreateSavepoint();
                tx.Put(K(1001), V(2, 5));
                tx.Delete(K(5));
                tx.Put(K(6), V(3, 50));
                Assert.Null(tx.Get(K(5)));
                tx.RollbackTo(sp);
                Assert.NotNull(tx.Get(K(1000)));
                Assert.Null(tx.Get(K(1001)));
                Assert.Equal(V(5, 10), tx.Get(K(5)));
                Assert.Equal(V(6, 10), tx.Get(K(6)));
                tx.Put(K(2000), V(4, 7)); // goes on after the rollback
                tx.Commit();
            }
            AssertValid(db);
        }
        using (var db = KvDatabase.Open(dir.File(), Fast))
        using (var tx = db.BeginRead())
        {
            Assert.Equal(102, db.GetStats().Main.Entries);
            Assert.NotNull(tx.Get(K(1000)));
            Assert.NotNull(tx.Get(K(2000)));
            Assert.Null(tx.Get(K(1001)));
            Assert.Equal(V(5, 10), tx.Get(K(5)));
        }
    }

    /// <summary>The README's Savepoints example, verbatim inside the using block, and what it promises.</summary>
    [Fact]
    public void ReadmeExample_CompilesAndDoesWhatItSays()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        using (var tx = db.BeginWrite())
        {
            tx.Put("order:1"u8, "paid"u8);
            var sp = tx.CreateSavepoint();
            tx.Put("order:2"u8, "paid"u8);
            tx.OpenTree("audit").Put("order:2"u8, "charged"u8);
            tx.RollbackTo(sp);                                   // order:2 and the audit tree are gone; order:1 stays
            tx.Put("order:3"u8, "paid"u8);
            tx.Commit();
        }
        using var r = db.BeginRead();
        Assert.Equal(["order:1", "order:3"], Dump(r).Select(e => e.Key));
        Assert.Empty(r.GetTreeNames());
    }

    [Fact]
    public void NestedSavepoints_RollbackToOuter_DropsTheInnerOnes_AndASavepointCanBeRolledBackToTwice()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        using var tx = db.BeginWrite();
        tx.Put(K(0), V(0, 1));
        var outer = tx.CreateSavepoint();
        tx.Put(K(1), V(1, 1));
        var middle = tx.CreateSavepoint();
        tx.Put(K(2), V(2, 1));
        var inner = tx.CreateSavepoint();
        tx.Put(K(3), V(3, 1));
        Assert.Equal([0, 1, 2], new[] { outer.Depth, middle.Depth, inner.Depth });

        tx.RollbackTo(inner);
        Assert.Null(tx.Get(K(3)));
        Assert.NotNull(tx.Get(K(2)));
        tx.Put(K(4), V(4, 1));
        tx.RollbackTo(inner); // again: the savepoint stays
        Assert.Null(tx.Get(K(4)));

        tx.RollbackTo(outer);
        Assert.Null(tx.Get(K(1)));
        Assert.Null(tx.Get(K(2)));
        Assert.NotNull(tx.Get(K(0)));
        Assert.Throws<InvalidOperationException>(() => tx.RollbackTo(middle));
        Assert.Throws<InvalidOperationException>(() => tx.RollbackTo(inner));
        var again = tx.CreateSavepoint();
        Assert.Equal(1, again.Depth);
        tx.Put(K(5), V(5, 1));
        tx.RollbackTo(again);
        Assert.Null(tx.Get(K(5)));
        tx.RollbackTo(outer);
        Assert.Equal([(Bytes.Str(K(0)), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(V(0, 1))))], Dump(tx));
    }

    [Fact]
    public void Savepoint_OfAnotherTransaction_OrAfterTheEnd_Throws()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        Savepoint old;
        using (var tx = db.BeginWrite())
        {
            old = tx.CreateSavepoint();
            tx.Put(K(1), V(1, 1));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var e = Assert.Throws<InvalidOperationException>(() => tx.RollbackTo(old));
            Assert.Contains("another transaction", e.Message);
            Assert.Throws<ArgumentNullException>(() => tx.RollbackTo(null!));
            var sp = tx.CreateSavepoint();
            tx.Dispose();
            Assert.Throws<ObjectDisposedException>(() => tx.RollbackTo(sp));
            Assert.Throws<ObjectDisposedException>(() => tx.CreateSavepoint());
        }
        using (var tx = db.BeginRead()) Assert.NotNull(tx.Get(K(1)));
    }

    [Fact]
    public void Rollback_AcrossSplitsMergesAndOverflowValues_RestoresTheTree_AndCommitsAValidFile()
    {
        using var dir = new TempDir();
        var model = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance);
        using (var db = KvDatabase.Open(dir.File(), Fast))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 3000; i += 2) { tx.Put(K(i), V(i, i % 10 == 0 ? 9000 : 40)); model[K(i)] = V(i, i % 10 == 0 ? 9000 : 40); }
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                // Uncommitted pages of this transaction before the savepoint: splits and an overflow run.
                for (int i = 1; i < 3000; i += 4) { tx.Put(K(i), V(i, 60)); model[K(i)] = V(i, 60); }
                tx.Put(K(7), V(7, 20000)); model[K(7)] = V(7, 20000);
                var before = db.GetStats();
                var sp = tx.CreateSavepoint();
                for (int i = 0; i < 3000; i++) if (i % 7 != 0) tx.Delete(K(i)); // merges, frees runs and pages of both kinds
                for (int i = 3000; i < 4000; i++) tx.Put(K(i), V(i, 300)); // splits
                tx.Put(K(7), V(8, 5)); // replaces this transaction's own overflow value
                tx.Put(K(10), V(9, 12000)); // replaces a committed one
                tx.RollbackTo(sp);
                Assert.Equal(DumpModel(model), Dump(tx));
                // Again after the rollback, so the savepoint's frozen pages are copied a second time.
                for (int i = 0; i < 3000; i += 3) tx.Delete(K(i));
                tx.RollbackTo(sp);
                Assert.Equal(DumpModel(model), Dump(tx));
                tx.Put(K(99999), V(1, 3)); model[K(99999)] = V(1, 3);
                tx.Commit();
            }
            AssertValid(db);
            using (var tx = db.BeginRead()) Assert.Equal(DumpModel(model), Dump(tx));
            Assert.Equal(model.Count, db.GetStats().Main.Entries);
        }
        using (var db = KvDatabase.Open(dir.File(), Fast))
        {
            AssertValid(db);
            using var tx = db.BeginRead();
            Assert.Equal(DumpModel(model), Dump(tx));
        }
    }

    [Fact]
    public void Rollback_RestoresNamedTrees_CreatedAndDeletedAfterTheSavepoint()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File(), Fast))
        {
            using (var tx = db.BeginWrite())
            {
                var a = tx.OpenTree("a");
                for (int i = 0; i < 500; i++) a.Put(K(i), V(i, 30));
                tx.OpenTree("untouched").Put(K(1), V(1, 1));
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                var b = tx.OpenTree("b"); // created before the savepoint
                b.Put(K(1), V(1, 1));
                var a = tx.OpenTree("a");
                a.Put(K(9999), V(2, 2));
                var sp = tx.CreateSavepoint();

                Assert.True(tx.DeleteTree("a"));
                Assert.True(tx.DeleteTree("b"));
                var c = tx.OpenTree("c");
                c.Put(K(1), V(1, 1));
                var untouched = tx.OpenTree("untouched"); // first opened after the savepoint
                untouched.Put(K(2), V(2, 2));
                var a2 = tx.OpenTree("a"); // re-created after its deletion
                a2.Put(K(1), V(9, 9));
                Assert.Equal(["a", "c", "untouched"], tx.GetTreeNames());

                tx.RollbackTo(sp);
                Assert.Equal(["a", "b", "untouched"], tx.GetTreeNames());
                Assert.Equal(501, Dump(tx, a).Count); // the old handle works again
                Assert.Equal(V(1, 30), a.Get(K(1)));
                Assert.Equal(V(1, 1), b.Get(K(1)));
                Assert.Throws<InvalidOperationException>(() => c.Get(K(1)));
                Assert.Throws<InvalidOperationException>(() => a2.Get(K(1)));
                Assert.Null(untouched.Get(K(2))); // a committed tree first opened after it is back at its committed state
                Assert.NotNull(untouched.Get(K(1)));
                untouched.Put(K(3), V(3, 3));
                Assert.False(tx.TryOpenTree("c", out _));
                tx.Commit();
            }
            AssertValid(db);
        }
        using (var db = KvDatabase.Open(dir.File(), Fast))
        {
            AssertValid(db);
            using var tx = db.BeginRead();
            Assert.Equal(["a", "b", "untouched"], tx.GetTreeNames());
            Assert.Equal(501, Dump(tx, tx.OpenTree("a")).Count);
            Assert.Equal(2, Dump(tx, tx.OpenTree("untouched")).Count);
            var stats = db.GetStats();
            Assert.Equal(501, stats.Trees.Single(t => t.Name == "a").Entries);
        }
    }

    [Fact]
    public void RollbackToASavepointBeforeAnyWrite_CommitsNothing()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        using (var tx = db.BeginWrite()) { tx.Put(K(1), V(1, 1)); tx.Commit(); }
        long txn = db.GetStats().TxnId;
        using (var tx = db.BeginWrite())
        {
            var sp = tx.CreateSavepoint();
            for (int i = 0; i < 2000; i++) tx.Put(K(i), V(i, 100));
            tx.OpenTree("t").Put(K(1), V(1, 1));
            tx.RollbackTo(sp);
            tx.Commit();
        }
        Assert.Equal(txn, db.GetStats().TxnId); // nothing changed, so nothing was committed
        AssertValid(db);
        using var r = db.BeginRead();
        Assert.Single(Dump(r));
        Assert.Empty(r.GetTreeNames());
    }

    [Fact]
    public void ManyRollbackCycles_ReturnTheirPages_SoTheFileDoesNotGrow()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        using (var tx = db.BeginWrite()) { for (int i = 0; i < 1000; i++) tx.Put(K(i), V(i, 50)); tx.Commit(); }

        long PageCountAfter(int cycles)
        {
            using var tx = db.BeginWrite();
            tx.Put(K(5), V(5, 51));
            var sp = tx.CreateSavepoint();
            for (int c = 0; c < cycles; c++)
            {
                for (int i = 0; i < 300; i++) tx.Put(K(100000 + i), V(i + c, 2000)); // ~150 pages and splits
                for (int i = 0; i < 1000; i += 3) tx.Delete(K(i));
                tx.Put(K(7), V(c, 30000)); // an overflow run
                tx.RollbackTo(sp);
            }
            tx.Commit();
            return db.GetStats().PageCount;
        }

        long one = PageCountAfter(1);
        long many = PageCountAfter(60);
        // Without the pages going back, 60 cycles would need about 60 times the pages of one (well over 10,000).
        Assert.True(many <= one + 64, $"one cycle: {one} pages; 60 cycles: {many} pages");
        AssertValid(db);
    }

    [Fact]
    public void CursorsAndReserveSpans_AfterRollback_BehaveAsDocumented()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        using (var tx = db.BeginWrite()) { for (int i = 0; i < 100; i += 10) tx.Put(K(i), V(i, 10)); tx.Commit(); }
        using (var tx = db.BeginWrite())
        {
            using var cursor = tx.OpenCursor();
            Assert.True(cursor.Seek(K(20)));
            var sp = tx.CreateSavepoint();
            tx.Delete(K(20));
            tx.Delete(K(30));
            tx.Put(K(25), V(25, 10));
            var span = tx.Reserve(K(40), 16);
            span.Fill(0xAB);
            var fresh = tx.OpenTree("fresh");
            using var freshCursor = fresh.OpenCursor();
            tx.RollbackTo(sp);

            // The cursor finds its key again in the restored tree: 20 is back, and next is 30.
            Assert.Equal(Bytes.Str(K(20)), Bytes.Str(cursor.Key));
            Assert.True(cursor.Next());
            Assert.Equal(Bytes.Str(K(30)), Bytes.Str(cursor.Key));
            // The reserved value is gone with the rest; the key has its old value.
            Assert.Equal(V(40, 10), tx.Get(K(40)));
            // A cursor of a tree created after the savepoint is dead.
            Assert.Throws<InvalidOperationException>(() => freshCursor.First());
            // A reserve after the rollback works as usual.
            var again = tx.Reserve(K(41), 8);
            again.Fill(7);
            tx.Commit();
        }
        AssertValid(db);
        using var r = db.BeginRead();
        Assert.Equal(new byte[8] { 7, 7, 7, 7, 7, 7, 7, 7 }, r.Get(K(41)));
        Assert.Equal(V(20, 10), r.Get(K(20)));
        Assert.Null(r.Get(K(25)));
    }

    /// <summary>
    /// Random puts, deletes, tree drops, savepoints and rollbacks against a model kept as a stack of copies (one per
    /// savepoint); Check() after every commit, and a reopen at the end. The seed is printed; set
    /// MMAPKV_SAVEPOINT_SEED to replay one.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomOperationsWithSavepoints_MatchTheModel(bool verifyChecksums)
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_SAVEPOINT_SEED"), out int s) ? s : Random.Shared.Next();
        Console.WriteLine($"SavepointTests seed: {seed} (MMAPKV_SAVEPOINT_SEED={seed} replays it)");
        var rng = new Random(seed);
        using var dir = new TempDir();
        var options = Fast with { VerifyChecksums = verifyChecksums };
        string[] names = ["", "t1", "t2"];
        // The committed model and the transaction's; a tree absent from the dictionary does not exist.
        var committed = new Dictionary<string, SortedDictionary<byte[], byte[]>> { [""] = new(ByteComparer.Instance) };
        var db = KvDatabase.Open(dir.File(), options);
        try
        {
            for (int round = 0; round < 40; round++)
            {
                var model = Copy(committed);
                var stack = new List<(Savepoint Sp, Dictionary<string, SortedDictionary<byte[], byte[]>> Model)>();
                using var tx = db.BeginWrite();
                int ops = rng.Next(20, 400);
                for (int op = 0; op < ops; op++)
                {
                    int kind = rng.Next(100);
                    string name = names[rng.Next(names.Length)];
                    if (kind < 45)
                    {
                        int k = rng.Next(3000);
                        int size = rng.Next(10) == 0 ? rng.Next(1100, 15000) : rng.Next(0, 300);
                        byte[] value = V(rng.Next(), size);
                        if (name == "") tx.Put(K(k), value); else tx.OpenTree(name).Put(K(k), value);
                        (model.TryGetValue(name, out var t) ? t : model[name] = new(ByteComparer.Instance))[K(k)] = value;
                    }
                    else if (kind < 50)
                    {
                        int first = rng.Next(3000), count = rng.Next(50, 400);
                        var t = name == "" ? null : tx.OpenTree(name);
                        var m = model.TryGetValue(name, out var mt) ? mt : model[name] = new(ByteComparer.Instance);
                        for (int k = first; k < first + count; k++)
                        {
                            byte[] value = V(k, 64);
                            if (t is null) tx.Put(K(k), value); else t.Put(K(k), value);
                            m[K(k)] = value;
                        }
                    }
                    else if (kind < 70)
                    {
                        int first = rng.Next(3000), count = rng.Next(1, 300);
                        if (!model.TryGetValue(name, out var m)) continue;
                        var t = name == "" ? null : tx.OpenTree(name);
                        for (int k = first; k < first + count; k++)
                        {
                            bool had = m.Remove(K(k));
                            Assert.Equal(had, t is null ? tx.Delete(K(k)) : t.Delete(K(k)));
                        }
                    }
                    else if (kind < 73)
                    {
                        if (name == "") continue;
                        Assert.Equal(model.Remove(name), tx.DeleteTree(name));
                    }
                    else if (kind < 83)
                        stack.Add((tx.CreateSavepoint(), Copy(model)));
                    else if (kind < 93 && stack.Count > 0)
                    {
                        int to = rng.Next(stack.Count);
                        tx.RollbackTo(stack[to].Sp);
                        model = Copy(stack[to].Model);
                        stack.RemoveRange(to + 1, stack.Count - to - 1);
                        AssertEqual(tx, model, names);
                    }
                }
                AssertEqual(tx, model, names);
                if (rng.Next(8) == 0) continue; // abort
                tx.Commit();
                committed = model;
                var report = db.Check();
                Assert.True(report.IsValid, $"seed {seed}, round {round}: " + string.Join("\n", report.Problems));
                if (rng.Next(10) == 0) { db.Dispose(); db = KvDatabase.Open(dir.File(), options); }
            }
            db.Dispose();
            db = KvDatabase.Open(dir.File(), options);
            using var r = db.BeginRead();
            AssertEqual(r.OpenCursor, (string n, out KvTree? t) => r.TryOpenTree(n, out t), r.GetTreeNames, committed, names);
        }
        finally { db.Dispose(); }
    }

    private static Dictionary<string, SortedDictionary<byte[], byte[]>> Copy(Dictionary<string, SortedDictionary<byte[], byte[]>> m) =>
        m.ToDictionary(p => p.Key, p => new SortedDictionary<byte[], byte[]>(p.Value, ByteComparer.Instance));

    private delegate bool TryOpen(string name, out KvTree? tree);

    private static void AssertEqual(WriteTransaction tx, Dictionary<string, SortedDictionary<byte[], byte[]>> model, string[] names) =>
        AssertEqual(tx.OpenCursor, (string n, out KvTree? t) => tx.TryOpenTree(n, out t), tx.GetTreeNames, model, names);

    private static void AssertEqual(Func<KvCursor> main, TryOpen open, Func<IReadOnlyList<string>> treeNames,
        Dictionary<string, SortedDictionary<byte[], byte[]>> model, string[] names)
    {
        Assert.Equal(DumpModel(model[""]), Dump(main()));
        foreach (var name in names.Skip(1))
        {
            bool exists = open(name, out var tree);
            Assert.Equal(model.ContainsKey(name), exists);
            if (exists) Assert.Equal(DumpModel(model[name]), Dump(tree!.OpenCursor()));
        }
        Assert.Equal(names.Skip(1).Where(model.ContainsKey).ToList(), treeNames());
    }
}
