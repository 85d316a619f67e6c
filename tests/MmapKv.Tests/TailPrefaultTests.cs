using System.Buffers.Binary;
using System.Runtime.InteropServices;
using MmapKv.FreeSpace;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// W8 (docs/durability.md §5.1): a transaction that takes many pages from the end of the file faults them in ahead
/// of its writes, a window at a time, only past the committed high-water mark and inside the file.
/// </summary>
public partial class TailPrefaultTests
{
    private const int ValueSize = 150;

    /// <summary>Real mapped storage that records every prefault asked of it, and passes everything on.</summary>
    private sealed class RecordingStorage(string path, long capacity) : ForwardingStorage(path, capacity)
    {
        public readonly List<(long Offset, long Length, long FileLength)> Prefaults = [];
        public override void Prefault(long offset, long length)
        {
            Prefaults.Add((offset, length, Length));
            base.Prefault(offset, length);
        }
    }

    private static byte[] Key(int i)
    {
        var key = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(key, i);
        return key;
    }

    private static void Append(KvDatabase db, int from, int count, byte[] value)
    {
        using var tx = db.BeginWrite();
        for (int i = from; i < from + count; i++) tx.Put(Key(i), value);
        tx.Commit();
    }

    [Fact]
    public void Prefault_CoversOnlyNewPagesInsideTheFile_AndLittleMoreThanTheTransactionUsed()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        var options = new KvOptions();
        var storage = new RecordingStorage(dir.File(), options.MaxSize);
        var value = new byte[ValueSize];
        using var db = KvDatabase.Open(dir.File(), storage, options);
        int pageSize = db.GetStats().PageSize;

        int next = 0;
        for (int round = 0; round < 4; round++)
        {
            long before = db.GetStats().PageCount;
            storage.Prefaults.Clear();
            Append(db, next, 20_000 * (round + 1), value);
            next += 20_000 * (round + 1);
            long after = db.GetStats().PageCount;
            long taken = after - before;
            Assert.True(taken > 4 * TransactionPages.PrefaultAfter, $"the load took only {taken} pages");

            Assert.NotEmpty(storage.Prefaults);
            long prefaultedTo = before * pageSize;
            foreach (var (offset, length, fileLength) in storage.Prefaults)
            {
                // Past every committed state's pages, inside the file as it was at the call, and each page once.
                Assert.True(offset >= prefaultedTo, $"a prefault at {offset} reaches back below {prefaultedTo}");
                Assert.True(length > 0 && offset % pageSize == 0 && length % pageSize == 0);
                Assert.True(offset + length <= fileLength, $"a prefault to {offset + length} passes the file's {fileLength} bytes");
                prefaultedTo = offset + length;
            }
            // Only the first pages fault one by one; the rest were prefaulted, and at most one window was never used.
            Assert.Equal((before + TransactionPages.PrefaultAfter - 1) * pageSize, storage.Prefaults[0].Offset);
            Assert.InRange(prefaultedTo / pageSize, after, after + TransactionPages.PrefaultAhead);
        }

        // A small transaction faults its page or two itself.
        storage.Prefaults.Clear();
        Append(db, next, 10, value);
        Assert.Empty(storage.Prefaults);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void Prefault_OfAnAbortedTransaction_LeavesTheCommittedStateAsItWas()
    {
        using var dir = new TempDir();
        var value = new byte[ValueSize];
        using (var db = KvDatabase.Open(dir.File()))
        {
            Append(db, 0, 5_000, value);
            using (var tx = db.BeginWrite())
            {
                for (int i = 5_000; i < 60_000; i++) tx.Put(Key(i), value);
                // disposed without commit: its tail pages, prefaulted, were never part of a committed state
            }
            Append(db, 60_000, 100, value);
        }
        using var reopened = KvDatabase.Open(dir.File());
        Assert.True(reopened.Check().IsValid);
        using var read = reopened.BeginRead();
        int count = 0;
        foreach (var _ in read.Scan()) count++;
        Assert.Equal(5_100, count);
        Assert.True(read.TryGet(Key(4_999), out _));
        Assert.False(read.TryGet(Key(5_000), out _));
        Assert.True(read.TryGet(Key(60_099), out _));
    }

    [Fact]
    public void LargeTransaction_TakesAPageFaultForFewOfItsNewPages()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.OSVersion.Version >= new Version(5, 14),
            "MADV_POPULATE_WRITE is Linux 5.14's");
        using var dir = new TempDir();
        var value = new byte[ValueSize];
        const int Count = 40_000;
        var keys = new byte[Count][];
        for (int i = 0; i < Count; i++) keys[i] = Key(i);
        using var db = KvDatabase.Open(dir.File());
        Append(db, 1_000_000, 2_000, value); // the code paths are compiled before anything is counted

        long before = db.GetStats().PageCount;
        long faults;
        using (var tx = db.BeginWrite())
        {
            long start = MinorFaultsOfThisThread();
            for (int i = 0; i < Count; i++) tx.Put(keys[i], value);
            faults = MinorFaultsOfThisThread() - start;
            tx.Commit();
        }
        long pages = db.GetStats().PageCount - before;
        Assert.True(pages > 1_000, $"the transaction took only {pages} pages");
        // Without W8 every new page is a fault of its own (the map is advised MADV_RANDOM: no fault-around), so
        // faults >= pages. With it, only the first PrefaultAfter pages and stray others fault.
        Assert.True(faults < pages / 4, $"{faults} page faults for {pages} new pages");
    }

    private static unsafe long MinorFaultsOfThisThread()
    {
        // struct rusage on 64-bit Linux: two timevals (32 bytes), then 14 longs; ru_minflt is the fifth of them.
        long* usage = stackalloc long[18];
        Assert.Equal(0, Getrusage(RusageThread, usage));
        return usage[8];
    }

    private const int RusageThread = 1;

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static unsafe partial int Getrusage(int who, long* usage);
}
