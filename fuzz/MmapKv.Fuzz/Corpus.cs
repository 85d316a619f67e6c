using System.Runtime.CompilerServices;
using System.Text;
using MmapKv.BTree;
using MmapKv.Format;

using MmapKv.Simulation;

namespace MmapKv.Fuzz;

/// <summary>
/// The seed databases of file mode: valid files of several shapes built through the public API, plus one crafted
/// hostile file. Generation is deterministic, so a run seed replays the same cases on a freshly generated corpus.
/// </summary>
internal static unsafe class Corpus
{
    private sealed record Shape(string Name, int PageSize, Action<KvDatabase> Fill);

    private static readonly Shape[] Shapes =
    {
        new("empty-4k", 4096, _ => { }),
        new("empty-16k", 16384, _ => { }),
        new("emptied-4k", 4096, db =>
        {
            Commit(db, tx => { for (int i = 0; i < 200; i++) tx.Put(K("e", i), V(40, i)); });
            Commit(db, tx => { for (int i = 0; i < 200; i++) tx.Delete(K("e", i)); });
        }),
        new("few-4k", 4096, db => Commit(db, tx => { for (int i = 0; i < 5; i++) tx.Put(K("few", i), V(10 + i, i)); })),
        new("few-16k", 16384, db => Commit(db, tx => { for (int i = 0; i < 7; i++) tx.Put(K("few", i), V(100 * i, i)); })),
        new("few-64k", 65536, db => Commit(db, tx => { for (int i = 0; i < 7; i++) tx.Put(K("few", i), V(100 * i, i)); })),
        new("depth3-4k", 4096, db => FillToDepth(db, null, 3, 400, 30)),
        new("depth4-4k", 4096, db => FillToDepth(db, null, 4, 600, 40)),
        new("depth3-16k", 16384, db => FillToDepth(db, null, 3, 1800, 100)),
        new("overflow-4k", 4096, db => Overflow(db)),
        new("overflow-16k", 16384, db => Overflow(db)),
        new("named-4k", 4096, db => Named(db)),
        new("named-16k", 16384, db => Named(db)),
        new("deletes-4k", 4096, db => Deletes(db, 3000)),
        new("deletes-16k", 16384, db => Deletes(db, 6000)),
        new("savepoints-4k", 4096, db => Savepoints(db)),
        new("savepoints-16k", 16384, db => Savepoints(db)),
        new("mixed-4k", 4096, db =>
        {
            Named(db);
            Overflow(db);
            FillToDepth(db, "deep", 3, 300, 20);
            Deletes(db, 1500);
        }),
    };

    public static byte[] K(string prefix, int i) => Encoding.UTF8.GetBytes($"{prefix}{i:D6}");

    public static byte[] V(int size, int seed)
    {
        var v = new byte[size];
        new Random(seed).NextBytes(v);
        return v;
    }

    private static void Commit(KvDatabase db, Action<WriteTransaction> body)
    {
        using var tx = db.BeginWrite();
        body(tx);
        tx.Commit();
    }

    /// <summary>
    /// Keys with a long common prefix make long separators, so branches are narrow and a small file is deep.
    /// Inserts in batches until the tree reaches <paramref name="depth"/>.
    /// </summary>
    private static void FillToDepth(KvDatabase db, string? tree, int depth, int prefixLength, int valueSize)
    {
        string prefix = new('p', prefixLength - 12);
        int i = 0;
        while (true)
        {
            using (var tx = db.BeginWrite())
            {
                for (int j = 0; j < 50; j++, i++)
                {
                    // Interleave so splits happen in the middle as well as at the right edge.
                    int k = (int)((uint)(i * 2654435761u) % 1_000_000);
                    byte[] key = Encoding.UTF8.GetBytes($"{prefix}/{k:D7}");
                    if (tree is null) tx.Put(key, V(valueSize, k));
                    else tx.OpenTree(tree).Put(key, V(valueSize, k));
                }
                tx.Commit();
            }
            var stats = db.GetStats();
            int d = tree is null ? stats.Main.Depth : stats.Trees.First(t => t.Name == tree).Depth;
            if (d >= depth || i > 200_000) return;
        }
    }

    private static void Overflow(KvDatabase db)
    {
        int inlineMax = Limits.MaxEntrySize(db.PageSize) - 12;
        Commit(db, tx =>
        {
            var sizes = new[] { 0, 1, inlineMax - 12, inlineMax - 11, inlineMax - 10, db.PageSize - 32, db.PageSize - 31, db.PageSize, 3 * db.PageSize + 7, 20000, 70000 };
            for (int i = 0; i < sizes.Length; i++) tx.Put(K("ovf", i), V(sizes[i], i));
            var t = tx.OpenTree("ovf-tree");
            for (int i = 0; i < 5; i++) t.Put(K("big", i), V(5000 + 3000 * i, 100 + i));
        });
        Commit(db, tx =>
        {
            tx.Put(K("ovf", 3), V(9000, 77));   // replaces an inline value with a run
            tx.Put(K("ovf", 9), V(10, 78));     // replaces a run with an inline value (frees the run)
            tx.Delete(K("ovf", 10));
        });
    }

    /// <summary>Three persistent savepoints around changes to the default and named trees (docs/format.md §13).</summary>
    private static void Savepoints(KvDatabase db)
    {
        Named(db);
        db.CreatePersistentSavepoint();
        FillToDepth(db, null, 3, 300, 20);
        db.CreatePersistentSavepoint();
        Commit(db, tx =>
        {
            for (int i = 0; i < 10; i++) tx.Put(K("main", i), V(3000, i)); // overflow values over kept leaves
            tx.DeleteTree("alpha");
        });
        db.CreatePersistentSavepoint();
        Deletes(db, 800);
    }

    private static void Named(KvDatabase db)
    {
        string longName = "long-" + new string('n', Limits.MaxKeySize(db.PageSize) - 10); // descriptor in an overflow run
        Commit(db, tx =>
        {
            for (int i = 0; i < 20; i++) tx.Put(K("main", i), V(20, i));
            foreach (string name in new[] { "alpha", "beta", "gamma", "ünïcødé", longName })
            {
                var t = tx.OpenTree(name);
                for (int i = 0; i < 30; i++) t.Put(K(name.Length > 20 ? "L" : name, i), V(i * 3, i));
            }
            tx.OpenTree("empty");
            tx.OpenTree("doomed").Put("x"u8, "y"u8);
        });
        Commit(db, tx =>
        {
            tx.DeleteTree("doomed");
            var t = tx.OpenTree("beta");
            for (int i = 0; i < 30; i += 3) t.Delete(K("beta", i));
        });
    }

    private static void Deletes(KvDatabase db, int n)
    {
        var rng = new Random(n);
        for (int batch = 0; batch < n; batch += 500)
            Commit(db, tx => { for (int i = batch; i < Math.Min(n, batch + 500); i++) tx.Put(K("d", i), V(rng.Next(5, 120), i)); });
        var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        int deleted = 0;
        for (int round = 0; round < 5; round++)
            Commit(db, tx =>
            {
                for (int j = 0; j < n * 3 / 20; j++) tx.Delete(K("d", order[deleted++]));
                for (int j = 0; j < 20; j++) tx.Put(K("d", order[rng.Next(deleted, n)]), V(rng.Next(5, 200), j)); // overwrites
            });
    }

    /// <summary>Makes the corpus directory's seed files if it holds none. Returns the seed files, sorted by name.</summary>
    public static List<string> EnsureCorpus(string dir)
    {
        Directory.CreateDirectory(dir);
        var existing = Directory.GetFiles(dir).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).ToList();
        if (existing.Count == 0)
        {
            Log.Line($"generating seed databases into {dir}");
            foreach (var shape in Shapes)
            {
                string path = Path.Combine(dir, shape.Name + ".mkv");
                string temp = path + ".build.tmp";
                if (File.Exists(temp)) File.Delete(temp);
                using (var db = KvDatabase.Open(temp, new KvOptions { PageSize = shape.PageSize, DeferredFlushInterval = TimeSpan.Zero }))
                {
                    shape.Fill(db);
                    var report = db.Check();
                    if (!report.IsValid) throw new InvalidOperationException($"seed {shape.Name} is not valid: {report}");
                }
                File.Move(temp, path);
            }
            File.WriteAllBytes(Path.Combine(dir, "crafted-dag-4k.mkv"), HostileFiles.Dag(4096, 8, 200));
            File.WriteAllBytes(Path.Combine(dir, "crafted-cycle-4k.mkv"), HostileFiles.Cycle(4096));
            existing = Directory.GetFiles(dir).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).ToList();
        }
        existing.Sort(StringComparer.Ordinal);
        return existing;
    }
}
