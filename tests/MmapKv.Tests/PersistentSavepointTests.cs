using System.Buffers.Binary;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Persistent savepoints (docs/format.md §13, invariants K1–K3): a restore brings back every tree exactly as the
/// savepoint captured it, across commits and reopens; the pages a savepoint keeps are never reused while it exists
/// and are freed when it is deleted; the checker accounts for them.
/// </summary>
public class PersistentSavepointTests
{
    private static readonly KvOptions Fast = new() { Durability = Durability.Deferred, PageSize = 4096 };

    private static byte[] K(int i) => Bytes.Of($"key{i:D6}");

    /// <summary>Every tree of the newest commit: name (null for the default tree), then its entries as hex strings.</summary>
    internal static SortedDictionary<string, List<string>> Snapshot(KvDatabase db)
    {
        using var tx = db.BeginRead();
        var all = new SortedDictionary<string, List<string>>(StringComparer.Ordinal) { [""] = Entries(tx.OpenCursor()) };
        foreach (string name in tx.GetTreeNames())
            all["tree:" + name] = tx.IsMultiTree(name) ? ["multimap"] : Entries(tx.OpenTree(name).OpenCursor());
        return all;
    }

    private static List<string> Entries(KvCursor cursor)
    {
        var list = new List<string>();
        using var c = cursor;
        for (bool ok = c.First(); ok; ok = c.Next()) list.Add(Entry(c.Key, c.Value));
        return list;
    }

    /// <summary>One entry as the snapshots compare it: the key in hex and a hash of the value.</summary>
    internal static string Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        Convert.ToHexString(key) + "=" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(value));

    /// <summary>Every entry of a cursor's tree, in order (<see cref="Entry"/>).</summary>
    internal static List<string> EntriesOf(KvCursor cursor) => Entries(cursor);

    internal static void AssertValid(KvDatabase db)
    {
        var report = db.Check();
        Assert.True(report.IsValid, string.Join("\n", report.Problems));
    }

    private static void Fill(KvDatabase db, int from, int count, int valueSize, string? tree = null)
    {
        using var tx = db.BeginWrite();
        var t = tree is null ? null : tx.OpenTree(tree);
        for (int i = from; i < from + count; i++)
        {
            var v = TestData.Value(i * 7 + valueSize, valueSize);
            if (t is null) tx.Put(K(i), v); else t.Put(K(i), v);
        }
        tx.Commit();
    }

    [Fact]
    public void Restore_BringsBackEveryTree_AfterCommitsAndAReopen()
    {
        using var dir = new TempDir();
        string path = dir.File();
        long id;
        SortedDictionary<string, List<string>> before;
        using (var db = KvDatabase.Open(path, Fast))
        {
            Fill(db, 0, 2000, 40);
            Fill(db, 0, 300, 20, "settings");
            Fill(db, 0, 10, 9000, "blobs"); // overflow runs
            before = Snapshot(db);
            id = db.CreatePersistentSavepoint();
            // Overwrite, delete, drop a tree, create one: every kind of change after the savepoint.
            Fill(db, 1000, 3000, 60);
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 500; i++) tx.Delete(K(i));
                tx.DeleteTree("settings");
                tx.OpenTree("new").Put(K(1), [1, 2, 3]);
                tx.OpenTree("blobs").Put(K(3), TestData.Value(3, 20000));
                tx.Commit();
            }
            Assert.NotEqual(before, Snapshot(db));
            AssertValid(db);
        }
        using (var db = KvDatabase.Open(path, Fast))
        {
            Assert.Equal(id, Assert.Single(db.GetPersistentSavepoints()).Id);
            db.RestoreSavepoint(id);
            Assert.Equal(before, Snapshot(db));
            AssertValid(db);
            // The savepoint stays: change again, restore again.
            Fill(db, 0, 100, 5, "settings");
            db.RestoreSavepoint(id);
            Assert.Equal(before, Snapshot(db));
            AssertValid(db);
        }
        using (var db = KvDatabase.Open(path, Fast))
        {
            Assert.Equal(before, Snapshot(db));
            AssertValid(db);
        }
    }

    [Fact]
    public void KeptPages_AreNeverReused_AndDeletingTheSavepointFreesThem()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        Fill(db, 0, 3000, 100);
        var before = Snapshot(db);
        long id = db.CreatePersistentSavepoint();
        // Rewrite every entry many times: without the savepoint the freed pages would be reused at once.
        for (int round = 0; round < 5; round++) Fill(db, 0, 3000, 100 + round);
        var stats = db.GetStats();
        var report = db.Check();
        Assert.True(report.IsValid, string.Join("\n", report.Problems));
        Assert.True(stats.SavepointPages > 0, "the savepoint keeps the pages of its state");
        Assert.Equal(report.SavepointPages, stats.SavepointPages);
        var info = Assert.Single(stats.Savepoints);
        Assert.Equal(id, info.Id);
        Assert.Equal(3000, info.Entries);
        Assert.Equal(stats.SavepointPages - 1, info.ExclusivePages); // one savepoint: everything kept is its alone, but the one-page table
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - info.Created).TotalMinutes) < 5);

        // The savepoint's state is intact page for page: restoring it gives the old values back.
        long freeBefore = stats.FreePages;
        Assert.True(db.DeletePersistentSavepoint(id));
        Assert.False(db.DeletePersistentSavepoint(id));
        db.Flush();
        Fill(db, 0, 1, 1); // a commit after the delete is durable, so its freed pages count as free
        var after = db.GetStats();
        Assert.Equal(0, after.SavepointPages);
        Assert.Empty(after.Savepoints);
        Assert.True(after.FreePages >= freeBefore + stats.SavepointPages - 10,
            $"deleting the savepoint freed its {stats.SavepointPages} pages: free {freeBefore} -> {after.FreePages}");
        AssertValid(db);
        Assert.NotEqual(before, Snapshot(db));
    }

    [Fact]
    public void SavepointState_SurvivesHeavyChurn_PageForPage()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        Fill(db, 0, 5000, 30);
        var before = Snapshot(db);
        long id = db.CreatePersistentSavepoint();
        var rng = new Random(5);
        for (int round = 0; round < 40; round++)
        {
            using var tx = db.BeginWrite();
            for (int i = 0; i < 400; i++)
            {
                int k = rng.Next(8000);
                if (rng.Next(3) == 0) tx.Delete(K(k)); else tx.Put(K(k), TestData.Value(round * 1000 + i, rng.Next(1, 300)));
            }
            tx.Commit();
        }
        AssertValid(db);
        db.RestoreSavepoint(id);
        Assert.Equal(before, Snapshot(db));
        AssertValid(db);
    }

    [Fact]
    public void SeveralSavepoints_DeleteInTheMiddle_RestoreAnOlderOneDropsTheNewer()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        var states = new List<(long Id, SortedDictionary<string, List<string>> State)>();
        for (int s = 0; s < 4; s++)
        {
            Fill(db, s * 500, 1500, 50 + s);
            using (var tx = db.BeginWrite())
            {
                for (int i = s * 100; i < s * 100 + 200; i++) tx.Delete(K(i));
                tx.OpenTree("t" + s).Put(K(s), [(byte)s]);
                tx.Commit();
            }
            states.Add((db.CreatePersistentSavepoint(), Snapshot(db)));
        }
        Fill(db, 0, 4000, 70);
        AssertValid(db);

        Assert.True(db.DeletePersistentSavepoint(states[1].Id)); // the middle: its neighbours stay whole
        AssertValid(db);
        Assert.Equal([states[0].Id, states[2].Id, states[3].Id], db.GetPersistentSavepoints().Select(s => s.Id));

        db.RestoreSavepoint(states[3].Id);
        Assert.Equal(states[3].State, Snapshot(db));
        AssertValid(db);

        db.RestoreSavepoint(states[0].Id); // deletes 2 and 3
        Assert.Equal(states[0].State, Snapshot(db));
        Assert.Equal([states[0].Id], db.GetPersistentSavepoints().Select(s => s.Id));
        AssertValid(db);
        Assert.Throws<KeyNotFoundException>(() => db.RestoreSavepoint(states[3].Id));
        Assert.Equal(states[0].State, Snapshot(db));
    }

    [Fact]
    public void Restore_LeavesOpenReadersTheirSnapshot()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        Fill(db, 0, 1000, 40);
        long id = db.CreatePersistentSavepoint();
        Fill(db, 0, 1000, 80);
        var changed = Snapshot(db);
        using var reader = db.BeginRead();
        db.RestoreSavepoint(id);
        Fill(db, 2000, 3000, 90); // reuses whatever the restore freed, if the rules allowed it
        Assert.Equal(changed[""], Entries(reader.OpenCursor()));
        AssertValid(db);
    }

    [Fact]
    public void Misuse_GetsClearErrors()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using (var db = KvDatabase.Open(path, Fast))
        {
            Fill(db, 0, 10, 10);
            Assert.Throws<KeyNotFoundException>(() => db.RestoreSavepoint(12345));
            Assert.False(db.DeletePersistentSavepoint(12345));
            db.CreatePersistentSavepoint();
        }
        using (var ro = KvDatabase.Open(path, Fast with { ReadOnly = true }))
        {
            Assert.Single(ro.GetPersistentSavepoints());
            Assert.Throws<InvalidOperationException>(() => ro.CreatePersistentSavepoint());
        }
    }

    [Fact]
    public void AtMost256Savepoints_TheNextIsATypedError()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), Fast);
        Fill(db, 0, 10, 10);
        for (int i = 0; i < 256; i++) db.CreatePersistentSavepoint();
        var e = Assert.Throws<MmapKvException>(() => db.CreatePersistentSavepoint());
        Assert.Contains("256", e.Message);
        Assert.Equal(256, db.GetStats().Savepoints.Count);
        AssertValid(db);
    }

    [Fact]
    public void DamagedTable_IsReportedByCheckAndRefusedByTheApi()
    {
        using var dir = new TempDir();
        string path = dir.File();
        long table;
        using (var db = KvDatabase.Open(path, Fast with { Durability = Durability.Immediate }))
        {
            Fill(db, 0, 100, 10);
            db.CreatePersistentSavepoint();
            Fill(db, 0, 100, 20);
        }
        {
            byte[] file = File.ReadAllBytes(path);
            int slot = TestData.NewestSlot(file, 4096);
            table = TestData.MetaField(file, slot, 4096, Format.MetaPage.SavepointTableOffset);
            Assert.True(table >= 2);
        }
        TestData.Patch(path, f => f[table * 4096 + Format.SavepointTableLayout.EntriesOffset + 3] ^= 0x40);
        using (var db = KvDatabase.Open(path, Fast with { ReadOnly = true }))
        {
            var report = db.Check();
            Assert.False(report.IsValid);
            Assert.Contains(report.Problems, p => p.Contains("savepoint table", StringComparison.Ordinal));
            Assert.Throws<CorruptDatabaseException>(() => db.GetPersistentSavepoints());
        }
    }

    [Fact]
    public void Version3File_OpensAndIsUpgradedByItsNextCommit()
    {
        using var dir = new TempDir();
        string path = dir.File();
        TestData.CreateTwoCommits(path);
        TestData.Patch(path, f =>
        {
            for (int slot = 0; slot < 2; slot++) TestData.SetMetaVersion(f, slot, 4096, 3);
        });
        using (var db = KvDatabase.Open(path, Fast with { ReadOnly = true })) AssertValid(db);
        using (var db = KvDatabase.Open(path, Fast with { Durability = Durability.Immediate }))
        {
            Fill(db, 0, 5, 5);
            db.CreatePersistentSavepoint();
        }
        byte[] file = File.ReadAllBytes(path);
        int newest = TestData.NewestSlot(file, 4096);
        Assert.Equal(MetaPage.FormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(newest * 4096 + 8)));
    }

    [Fact]
    public void MetaRecord_SavepointFields_AreAllZeroOrConsistent()
    {
        var ok = new Format.MetaRecord { PageSize = 4096, TxnId = 10, PageCount = 20 };
        long length = 20 * 4096;
        Assert.Null(ok.Validate(length));
        var with = ok with { SavepointTable = 5, SavepointTablePages = 1, SavepointCount = 1, NewestSavepoint = 9 };
        Assert.Null(with.Validate(length));
        Assert.NotNull((with with { SavepointTable = 1 }).Validate(length));          // a meta slot
        Assert.NotNull((with with { SavepointTable = 19, SavepointTablePages = 2 }).Validate(length)); // past the page count
        Assert.NotNull((with with { SavepointCount = 0 }).Validate(length));
        Assert.NotNull((with with { SavepointCount = 257 }).Validate(length));
        Assert.NotNull((with with { NewestSavepoint = 11 }).Validate(length));        // newer than the state
        Assert.NotNull((ok with { NewestSavepoint = 3 }).Validate(length));           // set alone
    }

    [Fact]
    public void SharedMode_ASavepointOfOneOpenerIsKeptAndRestoredThroughAnother()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var a = KvDatabase.Open(path, Fast);
        using var b = KvDatabase.Open(path, Fast);
        Fill(a, 0, 2000, 50);
        var before = Snapshot(b);
        long id = a.CreatePersistentSavepoint();
        for (int round = 0; round < 4; round++) Fill(b, 0, 2000, 60 + round); // b's writer must keep a's savepoint pages
        Assert.Equal(id, Assert.Single(b.GetPersistentSavepoints()).Id);
        AssertValid(b);
        b.RestoreSavepoint(id);
        Assert.Equal(before, Snapshot(a));
        AssertValid(a);
        Assert.True(a.DeletePersistentSavepoint(id));
        Assert.Empty(b.GetPersistentSavepoints());
        AssertValid(b);
    }
}
