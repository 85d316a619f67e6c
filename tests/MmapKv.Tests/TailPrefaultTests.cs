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

    /// <summary>Real mapped storage that records every prefault asked of it, its ends and its syncs, and passes everything on.</summary>
    private sealed class RecordingStorage(string path, long capacity) : ForwardingStorage(path, capacity)
    {
        public readonly List<(long Offset, long Length, long FileLength)> Prefaults = [];
        public readonly List<string> Calls = [];
        public override void Prefault(long offset, long length)
        {
            Prefaults.Add((offset, length, Length));
            Calls.Add("prefault");
            base.Prefault(offset, length);
        }
        public override void EndPrefault()
        {
            Calls.Add("end");
            base.EndPrefault();
        }
        public override void SyncData()
        {
            Calls.Add("sync");
            base.SyncData();
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
            // The prefault, which may run on a thread of the storage's, was ended before the commit's flush, and
            // nothing was asked after that (W8): no page of a committed state is faulted in on the writer's behalf.
            int end = storage.Calls.IndexOf("end");
            Assert.True(end > storage.Calls.LastIndexOf("prefault"), string.Join(",", storage.Calls.Distinct()));
            Assert.True(end < storage.Calls.IndexOf("sync"), "the commit's flush ran before its prefault ended");
            storage.Calls.Clear();
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
    public unsafe void Prefault_FaultsThePagesIn_OnAThreadOfItsOwn_SoTheWritersStoresTakeFewFaults()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.OSVersion.Version >= new Version(5, 14),
            "MADV_POPULATE_WRITE is Linux 5.14's");
        using var dir = new TempDir();
        const int Pages = 2_048;
        int pageSize = Environment.SystemPageSize; // mincore reports per OS page
        using var storage = MmapKv.Storage.MappedStorage.Open(dir.File(), readOnly: false, 64L << 20, createNew: true, Convert.ToInt32("644", 8));
        storage.Grow((Pages + 16) * pageSize);
        long offset = 16 * pageSize; // as a transaction's tail would be: past pages already in use
        storage.Prefault(offset, Pages * pageSize);
        // The call returns at once; the pages come into the page cache as the storage's thread faults them in.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ResidentPages(storage.Base + offset, Pages, pageSize) < Pages)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {ResidentPages(storage.Base + offset, Pages, pageSize)} of {Pages} pages were faulted in");
            Thread.Sleep(5);
        }
        long start = MinorFaultsOfThisThread();
        for (int i = 0; i < Pages; i++) storage.Base[offset + (long)i * pageSize] = 1;
        long faults = MinorFaultsOfThisThread() - start;
        storage.EndPrefault();
        // Without the prefault every page is a fault of its own on this thread: a shared map of a file, new pages.
        Assert.True(faults < Pages / 4, $"{faults} page faults for {Pages} prefaulted pages");
    }

    private static unsafe int ResidentPages(byte* start, int pages, int pageSize)
    {
        var vector = new byte[pages];
        fixed (byte* v = vector) Assert.Equal(0, Mincore((nint)start, (nuint)pages * (nuint)pageSize, v));
        return vector.Count(b => (b & 1) != 0);
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int Mincore(nint address, nuint length, byte* vector);

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
