using System.Runtime.CompilerServices;
using System.Text;
using MmapKv.Allocation;
using MmapKv.BTree;
using MmapKv.Format;
using Xunit;
using Xunit.Abstractions;

namespace MmapKv.Tests;

/// <summary>
/// Inputs found by the fuzzer (fuzz/MmapKv.Fuzz, file mode) that made MmapKv misbehave on a damaged or hostile
/// file. Each test rebuilds its reproducer from a valid database plus the documented edits (checksums recomputed,
/// so the damage is reached past them), or opens the files in FuzzCorpus/, and runs it in-process. The only
/// acceptable outcomes are success or <see cref="CorruptDatabaseException"/> (while writing, also
/// <see cref="DatabaseFullException"/> and <see cref="StorageFailedException"/>), within a time limit: never another
/// exception, a hang, or a crash.
/// </summary>
public class FuzzRegressionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    // ------------------------------------------------------------------ helpers

    /// <summary>Runs <paramref name="body"/>; passes if it returns or throws an allowed exception within the limit.</summary>
    private void Allowed(string what, Action body, bool writing = false)
    {
        var task = Task.Run(() =>
        {
            try { body(); return "ok"; }
            catch (CorruptDatabaseException e) { return "CorruptDatabaseException: " + e.Message; }
            catch (DatabaseFullException e) when (writing) { return "DatabaseFullException: " + e.Message; }
            catch (StorageFailedException e) when (writing) { return "StorageFailedException: " + e.Message; }
        });
        // A hang leaves the task running; the test fails rather than waiting forever.
        Assert.True(task.Wait(Limit), $"{what}: did not finish within {Limit.TotalSeconds} s (hang)");
        output.WriteLine($"{what}: {task.Result}");
    }

    private static KvOptions Options => new() { DeferredFlushInterval = TimeSpan.Zero, MaxSize = 64L << 20 };

    private static byte[] K(int i) => Encoding.UTF8.GetBytes($"key{i:D5}");

    /// <summary>Reads the active meta record of a file image.</summary>
    private static unsafe MetaRecord ActiveMeta(byte[] file)
    {
        fixed (byte* p = file)
        {
            var m0 = MetaPage.TryRead(p, file.Length, out _, out _)!.Value;
            var m1 = MetaPage.TryRead(p + m0.PageSize, file.Length, out _, out _);
            return m1 is { } b && b.TxnId > m0.TxnId ? b : m0;
        }
    }

    private static int ActiveSlot(byte[] file)
    {
        var m = ActiveMeta(file);
        return BitConverter.ToInt64(file, MetaPage.TxnIdOffset) == m.TxnId ? 0 : 1;
    }

    private static void FixPageChecksum(byte[] file, long id, int pageSize, long pages = 1)
    {
        var span = file.AsSpan((int)(id * pageSize), (int)(pages * pageSize));
        BitConverter.TryWriteBytes(span, Checksum.Compute(span[4..]));
    }

    private static void FixMetaChecksum(byte[] file, int slot, int pageSize)
    {
        var span = file.AsSpan(slot * pageSize, MetaPage.Size);
        BitConverter.TryWriteBytes(span[MetaPage.ChecksumOffset..], Checksum.Compute(span[..MetaPage.ChecksumOffset]));
    }

    /// <summary>A 4 KiB database with 20 keys in the default tree and one named tree "alpha" of 10 keys.</summary>
    private static byte[] NamedTreeDatabase(TempDir dir)
    {
        string path = dir.File("seed.mkv");
        using (var db = KvDatabase.Open(path, Options))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 20; i++) tx.Put(K(i), Bytes.Of($"v{i}"));
            var t = tx.OpenTree("alpha");
            for (int i = 0; i < 10; i++) t.Put(K(i), Bytes.Of($"a{i}"));
            tx.Commit();
        }
        return File.ReadAllBytes(path);
    }

    private static string Save(TempDir dir, byte[] file, string name = "case.mkv")
    {
        string path = dir.File(name);
        File.WriteAllBytes(path, file);
        return path;
    }

    // ------------------------------------------------------------------ 1. a catalog name that lookups cannot find

    /// <summary>
    /// Found as "NullReferenceException in stats at KvStats.Collect" and "KeyNotFoundException in copy-compact at
    /// ReadTransaction.OpenTree". The catalog leaf's slot hint for "alpha" is zeroed (checksum recomputed): a cursor
    /// still lists the name, but the binary search (which compares hints first) cannot find it.
    /// GetStats() then dereferences FindTree(name)! (null), and CopyTo(compact) calls OpenTree(name).
    /// </summary>
    [Fact]
    public void CatalogSlotHintDamaged_GetStatsAndCompactCopy_ThrowCorruptNotNullReference()
    {
        using var dir = new TempDir();
        var file = NamedTreeDatabase(dir);
        var meta = ActiveMeta(file);
        long leaf = meta.Catalog.Root;
        Assert.Equal(1, meta.Catalog.Depth);
        int hintAt = (int)(leaf * meta.PageSize) + PageHeader.Size + NodeLayout.SlotHintOffset;
        file.AsSpan(hintAt, 4).Clear();
        FixPageChecksum(file, leaf, meta.PageSize);
        string path = Save(dir, file);

        using var db = KvDatabase.Open(path, Options);
        Allowed("GetStats", () => db.GetStats());
        Allowed("CopyTo(compact)", () => db.CopyTo(Stream.Null, compact: true));
        Allowed("Check", () => db.Check());
    }

    /// <summary>
    /// Found as "ArgumentException in stats at KvTransaction.EncodeTreeName": the catalog's only key is given length
    /// 0 (checksum recomputed), so GetTreeNames() lists "" and GetStats() passes it to EncodeTreeName.
    /// </summary>
    [Fact]
    public void CatalogKeyEmpty_GetStatsAndCompactCopy_ThrowCorruptNotArgumentException()
    {
        using var dir = new TempDir();
        var file = NamedTreeDatabase(dir);
        var meta = ActiveMeta(file);
        long leaf = meta.Catalog.Root;
        int slot = (int)(leaf * meta.PageSize) + PageHeader.Size;
        BitConverter.TryWriteBytes(file.AsSpan(slot + NodeLayout.SlotKeyLengthOffset, 2), (ushort)0);
        file.AsSpan(slot + NodeLayout.SlotHintOffset, 4).Clear();
        FixPageChecksum(file, leaf, meta.PageSize);
        string path = Save(dir, file);

        using var db = KvDatabase.Open(path, Options);
        Allowed("GetStats", () => db.GetStats());
        Allowed("CopyTo(compact)", () => db.CopyTo(Stream.Null, compact: true));
    }

    // ------------------------------------------------------------------ 2. txn id at its maximum

    /// <summary>
    /// Found as the note "valid-before-invalid-after-commit: meta: negative transaction id". The active meta's txn
    /// id is set to long.MaxValue (checksum recomputed); the file opens and passes Check(). A commit then writes txn
    /// long.MaxValue + 1, a negative id that MetaPage.TryRead rejects: the commit returns (durable, by its contract),
    /// but after a reopen the database falls back to the older slot and the commit is gone. The writer must refuse
    /// (CorruptDatabaseException) instead of acknowledging a commit it cannot record.
    /// </summary>
    [Fact]
    public void TxnIdAtMaximum_CommitIsRefusedOrSurvivesReopen()
    {
        using var dir = new TempDir();
        var file = NamedTreeDatabase(dir);
        int slot = ActiveSlot(file);
        int ps = ActiveMeta(file).PageSize;
        BitConverter.TryWriteBytes(file.AsSpan(slot * ps + MetaPage.TxnIdOffset, 8), long.MaxValue);
        FixMetaChecksum(file, slot, ps);
        string path = Save(dir, file);

        bool committed = false;
        using (var db = KvDatabase.Open(path, Options))
        {
            Assert.True(db.Check().IsValid);
            Allowed("commit at txn long.MaxValue", () =>
            {
                using var tx = db.BeginWrite();
                tx.Put("after"u8, "max"u8);
                tx.Commit();
                committed = true;
            }, writing: true);
        }
        if (!committed) return; // refused: fine
        using (var db = KvDatabase.Open(path, Options))
        using (var tx = db.BeginRead())
            Assert.True(tx.TryGet("after"u8, out _), "a commit that returned was lost at reopen (its meta record has a negative txn id)");
    }

    // ------------------------------------------------------------------ 3. a tree that is a DAG

    /// <summary>
    /// The crafted seed crafted-dag-4k of the fuzzer: a named tree "dag" (also the default tree) of 8 levels whose
    /// branch pages have 200 children each, all pointing at the next page. Every header, checksum and meta field
    /// is valid; only page sharing is wrong, which Check() reports. The tree has 200^7 root-to-leaf paths over 10
    /// pages: DeleteTree walks every path (TreeWriter.FreeSubtree), and CopyTo(compact) copies every path's entry.
    /// Both must detect the sharing (a page freed twice, keys not ascending across leaves) and stop.
    /// </summary>
    [Fact]
    public void DagTree_DeleteTree_FinishesQuickly()
    {
        using var dir = new TempDir();
        string path = Save(dir, CraftDag(4096, 8, 200));
        using var db = KvDatabase.Open(path, Options);
        Assert.False(db.Check().IsValid);
        Allowed("DeleteTree(dag)", () =>
        {
            using var tx = db.BeginWrite();
            tx.DeleteTree("dag");
            tx.Commit();
        }, writing: true);
    }

    [Fact]
    public void DagTree_CompactCopy_FinishesQuickly()
    {
        using var dir = new TempDir();
        string path = Save(dir, CraftDag(4096, 8, 200));
        using var db = KvDatabase.Open(path, Options);
        Allowed("CopyTo(compact)", () => db.CopyTo(Stream.Null, compact: true));
    }

    /// <summary>The fuzzer's Corpus.CraftDag: see <see cref="DagTree_DeleteTree_FinishesQuickly"/>.</summary>
    private static unsafe byte[] CraftDag(int ps, int depth, int fanout)
    {
        long leafId = 3 + depth - 1;
        long pageCount = leafId + 1;
        var b = new byte[pageCount * ps];
        fixed (byte* p = b)
        {
            var raw = new byte[16];
            for (int level = 0; level < depth - 1; level++)
            {
                long id = 3 + level;
                byte* page = p + id * ps;
                NodeWriter.Init(page, PageKind.Branch, id, 1, ps);
                for (int j = 0; j < fanout; j++)
                {
                    int keyLength = j == 0 ? 0 : 2;
                    raw[0] = (byte)(j >> 8);
                    raw[1] = (byte)j;
                    Unsafe.WriteUnaligned(ref raw[keyLength], id + 1);
                    NodeWriter.Append(page, raw.AsSpan(0, keyLength + 8), keyLength);
                }
            }
            WriteLeaf(p + leafId * ps, leafId, ps, "a"u8.ToArray(), "b"u8.ToArray());
            var dag = new TreeDescriptor { Root = 3, Depth = depth, Entries = 1, BranchPages = depth - 1, LeafPages = 1 };
            var desc = new byte[TreeDescriptor.Size];
            dag.Write(desc);
            WriteLeaf(p + 2L * ps, 2, ps, "dag"u8.ToArray(), desc);
            for (long id = 2; id < pageCount; id++) PageHeader.SetChecksum(p + id * ps, Checksum.OfPage(p + id * ps, ps));
            MetaPage.Write(p, new MetaRecord
            {
                PageSize = ps, TxnId = 1, PageCount = pageCount, Main = dag,
                Catalog = new TreeDescriptor { Root = 2, Depth = 1, Entries = 1, LeafPages = 1 },
            });
        }
        return b;
    }

    private static unsafe void WriteLeaf(byte* page, long id, int ps, byte[] key, byte[] value)
    {
        NodeWriter.Init(page, PageKind.Leaf, id, 1, ps);
        var raw = new byte[key.Length + 4 + value.Length];
        key.CopyTo(raw, 0);
        BitConverter.TryWriteBytes(raw.AsSpan(key.Length), (uint)value.Length);
        value.CopyTo(raw, key.Length + 4);
        NodeWriter.Append(page, raw, key.Length);
    }

    // ------------------------------------------------------------------ 4. the free map says live pages are free

    /// <summary>
    /// Found as "OverflowException in write2 at NodeWriter.RemoveAt" (seed deletes-16k, "bitmap: 8 live pages
    /// marked free", bitmap checksum recomputed). The writer trusts the free map, so it hands out pages the tree
    /// still uses: a path page is overwritten by the shadow copy of another page, and the dirty page is then edited
    /// without validation (NodeWriter.RemoveAt with an index past the page's count: negative length to
    /// Buffer.MemoryCopy). Here every leaf of a depth-2 tree, and its root, is marked free.
    /// </summary>
    [Fact]
    public unsafe void FreeMapMarksLivePagesFree_WritesThrowCorruptOrSucceed()
    {
        using var dir = new TempDir();
        string seed = dir.File("seed.mkv");
        using (var db = KvDatabase.Open(seed, Options))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 800; i++) tx.Put(K(i), new byte[30 + i % 50]);
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 800; i += 3) tx.Delete(K(i));
                tx.Commit();
            }
        }
        var file = File.ReadAllBytes(seed);
        var meta = ActiveMeta(file);
        int ps = meta.PageSize;
        Assert.Equal(2, meta.Main.Depth);
        var live = new List<long> { meta.Main.Root };
        long[] bitmaps;
        fixed (byte* p = file)
        {
            var ctx = new PageContext(p, ps, meta.PageCount);
            var root = ctx.Node(meta.Main.Root, PageKind.Branch);
            for (int i = 0; i < root.Count; i++) live.Add(root.ChildAt(i));
            bitmaps = FreeMap.ReadDirectory(ctx, meta.FreeMapPage, meta.FreeMapPages);
        }
        Assert.Single(bitmaps);
        foreach (long id in live)
        {
            int at = (int)(bitmaps[0] * ps) + PageHeader.Size + (int)(id >> 3);
            file[at] |= (byte)(1 << (int)(id & 7));
        }
        FixPageChecksum(file, bitmaps[0], ps);
        string path = Save(dir, file);

        Allowed("deletes and puts over live pages marked free", () =>
        {
            using var db = KvDatabase.Open(path, Options);
            using (var tx = db.BeginWrite())
            {
                for (int i = 1; i < 800; i += 2) tx.Delete(K(i));
                for (int i = 0; i < 300; i++) tx.Put(K(2000 + i), new byte[100]);
                tx.Commit();
            }
            db.Check();
        }, writing: true);
    }

    // ------------------------------------------------------------------ 5. files the fuzzer saved

    /// <summary>
    /// Every file in tests/MmapKv.Tests/FuzzCorpus is opened read-only with checksum verification and read, then
    /// opened read-write, written, checked, and copied. Add a fuzzer artifact (.mkv) there to keep it as a test.
    /// </summary>
    [Fact]
    public void FuzzCorpusFiles_OpenReadWriteAndCheck_WithoutCrashOrUnexpectedException()
    {
        string corpus = FindCorpus();
        var files = Directory.GetFiles(corpus, "*.mkv").OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        using var dir = new TempDir();
        foreach (string source in files)
        {
            string name = Path.GetFileName(source);
            string path = dir.File(name);
            File.Copy(source, path);
            Allowed($"{name}: read-only", () =>
            {
                using var db = KvDatabase.Open(path, Options with { ReadOnly = true, VerifyChecksums = true });
                ReadEverything(db);
                db.Check();
            });
            Allowed($"{name}: read-write", () =>
            {
                using var db = KvDatabase.Open(path, Options);
                ReadEverything(db);
                using (var tx = db.BeginWrite())
                {
                    for (int i = 0; i < 50; i++) tx.Put(K(i * 7), new byte[i * 40]);
                    for (int i = 0; i < 50; i += 2) tx.Delete(K(i * 7));
                    tx.Commit();
                }
                db.Check();
                db.GetStats();
                db.CopyTo(Stream.Null, compact: true);
            }, writing: true);
        }
    }

    private static void ReadEverything(KvDatabase db)
    {
        using var tx = db.BeginRead();
        Walk(tx.OpenCursor());
        foreach (string name in tx.GetTreeNames())
            if (name.Length > 0 && Encoding.UTF8.GetByteCount(name) <= db.MaxKeySize && tx.TryOpenTree(name, out var t))
                Walk(t.OpenCursor());
    }

    private static void Walk(KvCursor c)
    {
        using (c)
        {
            int n = 0;
            for (bool ok = c.First(); ok && n < 100_000; ok = c.Next(), n++) _ = c.Key.Length + c.Value.Length;
            n = 0;
            for (bool ok = c.Last(); ok && n < 100_000; ok = c.Prev(), n++) _ = c.Key.Length + c.Value.Length;
        }
    }

    /// <summary>The FuzzCorpus folder next to this file's project, found by walking up from the test binaries.</summary>
    private static string FindCorpus()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "MmapKv.Tests", "FuzzCorpus");
            if (Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(d.FullName, "FuzzCorpus");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/MmapKv.Tests/FuzzCorpus not found above " + AppContext.BaseDirectory);
    }
}
