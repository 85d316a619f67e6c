using System.Runtime.CompilerServices;
using System.Text;
using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Simulation;
using Xunit;

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

    /// <summary>Opens a damaged file; refusing it (CorruptDatabaseException) is an allowed outcome, and returns null.</summary>
    private KvDatabase? OpenAllowed(string path, KvOptions? options = null)
    {
        KvDatabase? db = null;
        Allowed("open", () => db = KvDatabase.Open(path, options ?? Options));
        return db;
    }

    private static KvOptions Options => new() { DeferredFlushInterval = TimeSpan.Zero, MaxSize = 64L << 20 };

    /// <summary>A depth-2 tree of 800 keys with every third deleted, so the free map has bits set.</summary>
    private static string DepthTwoSeed(TempDir dir)
    {
        string seed = dir.File("seed.mkv");
        using var db = KvDatabase.Open(seed, Options);
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
        return seed;
    }

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

        using var db = OpenAllowed(path);
        if (db is null) return;
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

        using var db = OpenAllowed(path);
        if (db is null) return;
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
        using (var db = OpenAllowed(path))
        {
            if (db is null) return; // refused at open: fine
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
    /// pages: DeleteTree walks every path (TreeWriter.FreeAll, through TreeWalker), and CopyTo(compact) copies every path's entry.
    /// Both must detect the sharing (a page freed twice, keys not ascending across leaves) and stop.
    /// </summary>
    [Fact]
    public void DagTree_DeleteTree_FinishesQuickly()
    {
        using var dir = new TempDir();
        string path = Save(dir, HostileFiles.Dag(4096, 8, 200));
        using var db = OpenAllowed(path);
        if (db is null) return;
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
        string path = Save(dir, HostileFiles.Dag(4096, 8, 200));
        using var db = OpenAllowed(path);
        if (db is null) return;
        Allowed("CopyTo(compact)", () => db.CopyTo(Stream.Null, compact: true));
    }

    // ------------------------------------------------------------------ 4. the free map says a live page is free

    /// <summary>
    /// The fuzzer found "OverflowException in write2 at NodeWriter.RemoveAt" (regenerate with
    /// <c>MmapKv.Fuzz --mode file --seed 2 --case 570</c> on a freshly generated corpus: seed deletes-16k, a zeroed
    /// byte run, all checksums recomputed, 8 live pages marked free in the bitmap). The writer trusts the free map,
    /// so it allocates pages a tree still uses, and edits dirty pages without validating them: a path page is
    /// overwritten by another page's shadow copy and NodeWriter.RemoveAt is handed an index past the page's count
    /// (negative length to Buffer.MemoryCopy). This test builds the simplest form of that damage: the only page the
    /// map calls free is the first leaf L of a depth-2 tree, and deleting a key of L past the root's child count
    /// shadows the root onto L. The writer must notice and throw CorruptDatabaseException (it does for this
    /// variant; the tests below try more).
    /// </summary>
    [Fact]
    public unsafe void FreeMapMarksALiveLeafFree_DeleteThrowsCorruptOrSucceeds()
    {
        using var dir = new TempDir();
        string seed = DepthTwoSeed(dir);
        var file = File.ReadAllBytes(seed);
        var meta = ActiveMeta(file);
        int ps = meta.PageSize;
        Assert.Equal(2, meta.Main.Depth);
        long leaf;
        byte[] victim;
        long[] bitmaps;
        fixed (byte* p = file)
        {
            var ctx = new PageContext(p, ps, meta.PageCount);
            var root = ctx.Node(meta.Main.Root, PageKind.Branch);
            leaf = root.ChildAt(0);
            var node = ctx.Node(leaf, PageKind.Leaf);
            Assert.True(node.Count > root.Count + 1, "the first leaf must hold more keys than the root has children");
            victim = node.KeyAt(root.Count + 1).ToArray();
            bitmaps = FreeMap.ReadDirectory(ctx, meta.FreeMapPage, meta.FreeMapPages).Bitmaps;
        }
        Assert.Single(bitmaps);
        var bits = file.AsSpan((int)(bitmaps[0] * ps) + PageHeader.Size, ps - PageHeader.Size);
        bits.Clear();
        bits[(int)(leaf >> 3)] |= (byte)(1 << (int)(leaf & 7));
        FixPageChecksum(file, bitmaps[0], ps);
        string path = Save(dir, file);

        using var db2 = OpenAllowed(path);
        if (db2 is null) return; // the open's free-map audit refused it: fine
        Allowed("delete a key of the live leaf the free map calls free", () =>
        {
            using var tx = db2.BeginWrite();
            tx.Delete(victim);
            tx.Commit();
        }, writing: true);
        Allowed("Check", () => db2.Check());
    }

    /// <summary>The same damage on a larger scale: the root and every leaf marked free, then deletes and puts.</summary>
    [Fact]
    public unsafe void FreeMapMarksLivePagesFree_WritesThrowCorruptOrSucceed()
    {
        using var dir = new TempDir();
        string seed = DepthTwoSeed(dir);
        var file = File.ReadAllBytes(seed);
        var meta = ActiveMeta(file);
        int ps = meta.PageSize;
        var live = new List<long> { meta.Main.Root };
        long[] bitmaps;
        fixed (byte* p = file)
        {
            var ctx = new PageContext(p, ps, meta.PageCount);
            var root = ctx.Node(meta.Main.Root, PageKind.Branch);
            for (int i = 0; i < root.Count; i++) live.Add(root.ChildAt(i));
            bitmaps = FreeMap.ReadDirectory(ctx, meta.FreeMapPage, meta.FreeMapPages).Bitmaps;
        }
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
                for (int i = 799; i >= 0; i -= 2) tx.Delete(K(i));
                for (int i = 0; i < 300; i++) tx.Put(K(2000 + i), new byte[100]);
                tx.Commit();
            }
            db.Check();
        }, writing: true);
    }

    /// <summary>
    /// 200 fixed variants of the fuzzer's finding: 1–8 random live pages (root or leaves) of a depth-2 tree marked
    /// free, then deletes in random order and puts in one transaction.
    /// </summary>
    [Fact]
    public unsafe void FreeMapMarksRandomLivePagesFree_Variants_WritesThrowCorruptOrSucceed()
    {
        using var dir = new TempDir();
        string seed = DepthTwoSeed(dir);
        var file = File.ReadAllBytes(seed);
        var meta = ActiveMeta(file);
        int ps = meta.PageSize;
        var live = new List<long> { meta.Main.Root };
        long bitmap;
        fixed (byte* p = file)
        {
            var ctx = new PageContext(p, ps, meta.PageCount);
            var root = ctx.Node(meta.Main.Root, PageKind.Branch);
            for (int i = 0; i < root.Count; i++) live.Add(root.ChildAt(i));
            bitmap = FreeMap.ReadDirectory(ctx, meta.FreeMapPage, meta.FreeMapPages).Bitmaps[0];
        }
        for (int variant = 0; variant < 200; variant++)
        {
            var rng = new Random(variant);
            var damaged = (byte[])file.Clone();
            int n = rng.Next(1, 9);
            var marked = new List<long>();
            for (int j = 0; j < n; j++)
            {
                long id = live[rng.Next(live.Count)];
                marked.Add(id);
                damaged[(int)(bitmap * ps) + PageHeader.Size + (int)(id >> 3)] |= (byte)(1 << (int)(id & 7));
            }
            FixPageChecksum(damaged, bitmap, ps);
            string path = Save(dir, damaged, $"variant-{variant}.mkv");
            var keys = Enumerable.Range(0, 800).Where(i => i % 3 != 0).OrderBy(_ => rng.Next()).Take(300).ToList();
            Allowed($"variant {variant}: pages {string.Join(",", marked)} marked free", () =>
            {
                using var db = KvDatabase.Open(path, Options);
                using (var tx = db.BeginWrite())
                {
                    foreach (int k in keys) tx.Delete(K(k));
                    for (int i = 0; i < 100; i++) tx.Put(K(1000 + rng.Next(2000)), new byte[rng.Next(10, 300)]);
                    tx.Commit();
                }
                db.Check();
            }, writing: true);
            File.Delete(path);
        }
    }

    // ------------------------------------------------------------------ 4b. a leaf value length that runs past the page

    /// <summary>
    /// Found as a process crash: "Fatal error. System.AccessViolationException ... at Buffer.MemoryCopy at
    /// NodeWriter.Compact at NodeWriter.TryInsert at TreeWriter.Insert at TreeWriter.Put" (seed depth3-4k, one
    /// mutation: a leaf entry's value-info word set to 0xbdf, an inline length of 3039 bytes that runs past the
    /// page; checksum recomputed; confirmed alone). Reads only check the slots they touch, so the file opens and
    /// reads; a Put into that leaf shadows it, and when the insert needs compaction, NodeWriter.UsedBytes/RawSize and
    /// Compact trust every entry's length and copy past the page (or, with a length near 2^31, UsedBytes overflows
    /// and Compact copies gigabytes). Here: a full leaf, one entry's length set to 0x7FFFFFF0, one more Put.
    /// Expected: CorruptDatabaseException (validate every entry before copying or compacting a page).
    /// </summary>
    [Fact]
    public void LeafValueLengthPastThePage_PutThatCompacts_ThrowsCorruptNotAccessViolation()
    {
        using var dir = new TempDir();
        string seed = dir.File("seed.mkv");
        using (var db = KvDatabase.Open(seed, Options))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 33; i++) tx.Put(K(i), new byte[100]); // 33 x 120 bytes: one leaf, 104 bytes of gap left
            tx.Commit();
        }
        var file = File.ReadAllBytes(seed);
        var meta = ActiveMeta(file);
        int ps = meta.PageSize;
        Assert.Equal(1, meta.Main.Depth);
        int page = (int)(meta.Main.Root * ps);
        int slot = page + PageHeader.Size + 5 * NodeLayout.SlotSize;
        int entry = BitConverter.ToUInt16(file, slot + NodeLayout.SlotEntryOffset);
        int keyLength = BitConverter.ToUInt16(file, slot + NodeLayout.SlotKeyLengthOffset);
        BitConverter.TryWriteBytes(file.AsSpan(page + entry + keyLength, 4), 0x7FFF_FFF0u);
        FixPageChecksum(file, meta.Main.Root, ps);
        string path = Save(dir, file);

        using var db2 = OpenAllowed(path);
        if (db2 is null) return;
        Allowed("a Put that needs compaction", () =>
        {
            using var tx = db2.BeginWrite();
            tx.Put(K(100), new byte[100]); // needs 120 bytes: compaction (or a split)
            tx.Commit();
        }, writing: true);
        Allowed("the original bit-rot variant: length 3039 (0xbdf)", () =>
        {
            var again = (byte[])file.Clone();
            BitConverter.TryWriteBytes(again.AsSpan(page + entry + keyLength, 4), 0xbdfu);
            FixPageChecksum(again, meta.Main.Root, ps);
            string p2 = Save(dir, again, "bdf.mkv");
            using var db3 = KvDatabase.Open(p2, Options);
            using var tx = db3.BeginWrite();
            for (int i = 0; i < 5; i++) tx.Put(K(200 + i), new byte[100]);
            tx.Commit();
        }, writing: true);
    }

    // ------------------------------------------------------------------ 5. a key longer than MaxKeySize

    /// <summary>
    /// Found as "ArgumentException in write at KvCursor.Moved" (seed overflow-4k, random slots on a leaf): a leaf
    /// slot's key length is above MaxKeySize but inside the page, which N5 allows. A cursor in a write transaction
    /// saves its key into a MaxKeySize buffer (KvCursor.Moved: key.CopyTo(_savedKey)): "Destination is too short".
    /// A key longer than MaxKeySize is corruption and should be reported as such.
    /// </summary>
    [Fact]
    public void LeafKeyLongerThanMaxKeySize_WriteCursor_ThrowsCorruptNotArgumentException()
    {
        using var dir = new TempDir();
        string seed = dir.File("seed.mkv");
        using (var db = KvDatabase.Open(seed, Options))
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 5; i++) tx.Put(K(i), new byte[500]);
            tx.Commit();
        }
        var file = File.ReadAllBytes(seed);
        var meta = ActiveMeta(file);
        int ps = meta.PageSize;
        Assert.Equal(1, meta.Main.Depth);
        int page = (int)(meta.Main.Root * ps);
        int upper = (int)BitConverter.ToUInt32(file, page + PageHeader.UpperOffset);
        int maxKey = Limits.MaxKeySize(ps);
        Assert.True(upper + maxKey + 1 <= ps);
        int slot = page + PageHeader.Size; // slot 0: the smallest key now starts at the heap start and runs past MaxKeySize
        BitConverter.TryWriteBytes(file.AsSpan(slot + NodeLayout.SlotEntryOffset, 2), (ushort)upper);
        BitConverter.TryWriteBytes(file.AsSpan(slot + NodeLayout.SlotKeyLengthOffset, 2), (ushort)(maxKey + 1));
        FixPageChecksum(file, meta.Main.Root, ps);
        string path = Save(dir, file);

        using var db2 = OpenAllowed(path);
        if (db2 is null) return;
        Allowed("cursor in a write transaction", () =>
        {
            using var tx = db2.BeginWrite();
            using var c = tx.OpenCursor();
            for (bool ok = c.First(); ok; ok = c.Next()) { }
        }, writing: true);
    }

    // ------------------------------------------------------------------ 5b. flags on the default tree

    /// <summary>
    /// Found as "ArgumentException in ro-walk-main at EightByteOrder.CheckKey": the active meta's default-tree
    /// descriptor is given key order Int64 (flags 2, checksum recomputed), so a lookup of any key that is not 8 bytes
    /// long was refused as the caller's mistake. The default and catalog trees are always plain and bytewise: such a
    /// record is damage, refused at open like any invalid meta record.
    /// </summary>
    [Theory]
    [InlineData(MetaPage.MainTreeOffset, 2u)]
    [InlineData(MetaPage.MainTreeOffset, 0x100u)]
    [InlineData(MetaPage.CatalogTreeOffset, 1u)]
    public void MetaTreeDescriptorWithFlags_IsRefusedAsDamage(int descriptorOffset, uint flags)
    {
        using var dir = new TempDir();
        var file = NamedTreeDatabase(dir);
        int slot = ActiveSlot(file);
        int ps = ActiveMeta(file).PageSize;
        BitConverter.TryWriteBytes(file.AsSpan(slot * ps + descriptorOffset + TreeDescriptor.FlagsOffset, 4), flags);
        FixMetaChecksum(file, slot, ps);
        string path = Save(dir, file);
        using var db = OpenAllowed(path);
        if (db is null) return; // refused: fine
        // The other slot (an older record) may be chosen; whatever opens, a lookup of any key works.
        Allowed("lookups", () =>
        {
            using var tx = db.BeginRead();
            tx.TryGet("a"u8, out _);
            tx.TryGet(K(3), out _);
        });
    }

    // ------------------------------------------------------------------ 6. files the fuzzer saved

    /// <summary>
    /// Every file in tests/MmapKv.Tests/FuzzCorpus is opened read-only with checksum verification and read, then
    /// opened read-write, written, checked, and copied. Add a fuzzer artifact there (renamed to .db: the repository ignores *.mkv) to keep it as a test.
    /// </summary>
    [Fact]
    public void FuzzCorpusFiles_OpenReadWriteAndCheck_WithoutCrashOrUnexpectedException()
    {
        string corpus = FindCorpus();
        var files = Directory.GetFiles(corpus, "*.db").OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        using var dir = new TempDir();
        foreach (string source in files)
        {
            string name = Path.GetFileName(source);
            string path = dir.File(name);
            File.Copy(source, path);
            // A file of an older format version stops at the version check and would pin nothing: the corpus must be
            // upgraded with the format (FuzzCorpus/README.md).
            try { KvDatabase.Open(path, Options with { ReadOnly = true }).Dispose(); }
            catch (IncompatibleFormatException e) { Assert.Fail($"{name} is not in the current format ({e.Message}); upgrade it as FuzzCorpus/README.md says"); }
            catch (CorruptDatabaseException) { } // damage the cases below are about
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

    /// <summary>The FuzzCorpus folder of this project, found by walking up from the test binaries or the working directory.</summary>
    private static string FindCorpus([CallerFilePath] string sourceFile = "")
    {
        string beside = Path.Combine(Path.GetDirectoryName(sourceFile) ?? "", "FuzzCorpus");
        if (Directory.Exists(beside)) return beside;
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "tests", "MmapKv.Tests", "FuzzCorpus");
                if (Directory.Exists(candidate)) return candidate;
                candidate = Path.Combine(d.FullName, "FuzzCorpus");
                if (Directory.Exists(candidate)) return candidate;
            }
        throw new DirectoryNotFoundException($"tests/MmapKv.Tests/FuzzCorpus not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
