using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Scan, ScanPrefix and Reverse allocate nothing on the managed heap: the enumerable and its enumerator are ref
/// structs and the tree path is held inline. Measured with GC.GetAllocatedBytesForCurrentThread over many entries
/// (several leaves, inline and overflow values, a long prefix whose successor needs a rented buffer), in a read
/// and in a write transaction. As in WritePathAllocationTests, a round is repeated until one measures exactly 0 B,
/// because other test classes run in parallel; a real allocation per scan or per entry would fail every round.
/// </summary>
public class ScanAllocationTests
{
    private const int Keys = 3000;
    private const int Rounds = 10;

    // Made once: the test must not count its own allocations.
    private static readonly byte[][] KeyTable = Enumerable.Range(0, Keys).Select(i => Bytes.Of($"key:{i % 10}:{i:D6}")).ToArray();
    private static readonly byte[] LongPrefix = Enumerable.Repeat((byte)'k', 300).ToArray();

    private static long SteadyRound(Action round)
    {
        long allocated = -1;
        for (int r = 0; r < Rounds && allocated != 0; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            round();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return allocated;
    }

    private static long Walk(KvScan scan)
    {
        long sum = 0;
        foreach (var e in scan) sum += e.Key.Length + e.Value.Length;
        return sum;
    }

    private static long Scans(KvScan all, KvScan range, KvScan prefix, KvScan longPrefix, KvScan named)
    {
        long sum = Walk(all) + Walk(all.Reverse());
        sum += Walk(range) + Walk(range.Reverse());
        sum += Walk(prefix) + Walk(prefix.Reverse());
        sum += Walk(longPrefix) + Walk(longPrefix.Reverse());
        sum += Walk(named) + Walk(named.Reverse());
        foreach (var (k, v) in all) sum += k[0] + v.Length; // the deconstructing form
        return sum;
    }

    private static KvDatabase OpenFilled(TempDir dir)
    {
        var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        for (int i = 0; i < Keys; i++) tx.Put(KeyTable[i], new byte[i % 100 == 0 ? 5000 : 40]);
        var t = tx.OpenTree("named");
        for (int i = 0; i < 500; i++) t.Put(KeyTable[i], new byte[10]);
        tx.Commit();
        return db;
    }

    [Fact]
    public void ReadTransaction_ScansAllocateNothing()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        var tree = r.OpenTree("named");
        long sum = 0;
        void Round()
        {
            sum = Scans(r.Scan(), r.Scan("key:3"u8, "key:7"u8), r.ScanPrefix("key:5:"u8), r.ScanPrefix(LongPrefix), tree.ScanPrefix("key:"u8));
        }
        Round(); // warm up (JIT)
        Round();
        Assert.Equal(0, SteadyRound(Round));
        Assert.True(sum > 2 * Keys * 40);
    }

    [Fact]
    public void WriteTransaction_ScansAllocateNothing()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var w = db.BeginWrite();
        w.Put("key:5:zzz"u8, "uncommitted"u8);
        var tree = w.OpenTree("named");
        long sum = 0;
        void Round()
        {
            sum = Scans(w.Scan(), w.Scan("key:3"u8, "key:7"u8), w.ScanPrefix("key:5:"u8), w.ScanPrefix(LongPrefix), tree.Scan(default, "key:9"u8));
        }
        Round();
        Round();
        Assert.Equal(0, SteadyRound(Round));
        Assert.True(sum > 2 * Keys * 40);
    }
}
