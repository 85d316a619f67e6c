using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// What <see cref="KvOptions.VerifyChecksums"/> costs: the same random lookups and full scan with verification off
/// and on. Each page is verified once per read transaction (Pages/PageVerifier.cs), so a lookup in its own short
/// transaction pays for every page on its path, and a long transaction or a scan pays once per page.
/// </summary>
[MemoryDiagnoser]
public class VerifyPaths
{
    private const int Batch = 1_000;
    private Fixture _f = null!;
    private int _next;

    [Params(false, true)]
    public bool Verify { get; set; }

    [GlobalSetup]
    public void Setup() => _f = new Fixture(Durability.Immediate, verifyChecksums: Verify);

    [GlobalCleanup]
    public void Cleanup() => _f.Dispose();

    /// <summary>A lookup in its own read transaction: the root-to-leaf path is verified afresh each time.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int GetInOwnTransaction() => _f.GetEachInOwnTransaction(ref _next, Batch);

    /// <summary>Lookups in one transaction per batch of 1,000: the upper levels are verified once per batch.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int GetInSharedTransaction()
    {
        using var tx = _f.Db.BeginRead();
        return _f.GetInTransaction(tx, ref _next, Batch);
    }

    /// <summary>A full scan of the 100,000 entries in one transaction: every leaf verified once.</summary>
    [Benchmark]
    public long FullScan()
    {
        long sum = 0;
        using var tx = _f.Db.BeginRead();
        using var c = tx.OpenCursor();
        for (bool ok = c.First(); ok; ok = c.Next()) sum += c.Value[0];
        return sum;
    }
}
