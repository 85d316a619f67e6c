using System.Buffers.Binary;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Helpers shared by the error-path test classes (imported with <c>using static</c>): keys and values, reading and
/// patching the meta slots of a closed database file, a two-commit database, and asserting a refused open.
/// </summary>
internal static class TestData
{
    internal static byte[] Key(int i) => Bytes.Of($"key{i:D6}");

    internal static byte[] Value(int i, int length)
    {
        var v = new byte[length];
        new Random(i).NextBytes(v);
        return v;
    }

    /// <summary>Offset of meta slot <paramref name="slot"/> in a file of <paramref name="pageSize"/> pages.</summary>
    internal static int SlotOffset(int slot, int pageSize) => slot * pageSize;

    internal static long MetaTxnId(byte[] file, int slot, int pageSize) =>
        BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(SlotOffset(slot, pageSize) + MetaPage.TxnIdOffset));

    internal static long MetaField(byte[] file, int slot, int pageSize, int offset) =>
        BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(SlotOffset(slot, pageSize) + offset));

    /// <summary>The slot holding the newest commit.</summary>
    internal static int NewestSlot(byte[] file, int pageSize) =>
        MetaTxnId(file, 0, pageSize) >= MetaTxnId(file, 1, pageSize) ? 0 : 1;

    internal static void RecomputeMetaChecksum(byte[] file, int slot, int pageSize)
    {
        int o = SlotOffset(slot, pageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(o + MetaPage.ChecksumOffset),
            Checksum.Compute(file.AsSpan(o, MetaPage.ChecksumOffset)));
    }

    /// <summary>
    /// Recomputes the commit list of <paramref name="slot"/> (every listed page's checksum, the list's checksum, the
    /// record's checksum) after a test changed listed pages, as a tamperer who forges checksums would. Without it
    /// the open refuses the slot and opens the older state (D1), and the damage under test is never read.
    /// </summary>
    internal static void ResealCommitList(byte[] file, int slot, int pageSize)
    {
        int o = SlotOffset(slot, pageSize);
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(o + MetaPage.ListCountOffset));
        var list = file.AsSpan(o + CommitList.Offset, count * CommitList.EntrySize);
        for (int i = 0; i < count; i++)
        {
            long id = BinaryPrimitives.ReadInt64LittleEndian(list[(i * CommitList.EntrySize)..]);
            BinaryPrimitives.WriteUInt32LittleEndian(list[(i * CommitList.EntrySize + CommitList.PageIdSize)..],
                Checksum.Compute(file.AsSpan((int)(id * pageSize), pageSize)));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(o + MetaPage.ListChecksumOffset), Checksum.Compute(list));
        RecomputeMetaChecksum(file, slot, pageSize);
    }

    internal static void SetMetaVersion(byte[] file, int slot, int pageSize, uint version)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(SlotOffset(slot, pageSize) + MetaPage.VersionOffset), version);
        RecomputeMetaChecksum(file, slot, pageSize);
    }

    /// <summary>Rewrites a closed database file through <paramref name="patch"/>.</summary>
    internal static void Patch(string path, Action<byte[]> patch)
    {
        byte[] file = File.ReadAllBytes(path);
        patch(file);
        File.WriteAllBytes(path, file);
    }

    /// <summary>
    /// A database with two commits: txn 1 writes keys 0..n-1 (value "one-i"), txn 2 overwrites key 0 and adds
    /// "second". So slot 1 holds txn 1 and slot 0 holds txn 2.
    /// </summary>
    internal static void CreateTwoCommits(string path, int pageSize = 4096, int n = 50)
    {
        using var db = KvDatabase.Open(path, new KvOptions { PageSize = pageSize });
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < n; i++) tx.Put(Key(i), Bytes.Of($"one-{i}"));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put(Key(0), "two-0"u8);
            tx.Put("second"u8, "2"u8);
            tx.Commit();
        }
        Assert.Equal(2, db.LastTxnId);
    }

    internal static void AssertOpenFails<T>(string path, bool readOnly) where T : Exception
    {
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<T>(() => KvDatabase.Open(path, new KvOptions { ReadOnly = readOnly }).Dispose());
        // A refused open writes nothing and leaves no lock behind.
        Assert.Equal(before, File.ReadAllBytes(path));
        AssertNotLocked(path);
        Assert.Empty(Directory.GetFiles(System.IO.Path.GetDirectoryName(path)!, "*.creating-*"));
    }

    /// <summary>.NET takes flock(LOCK_EX | LOCK_NB) for FileShare.None on Unix, so this fails while a KvDatabase holds the file.</summary>
    internal static void AssertNotLocked(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();
}
