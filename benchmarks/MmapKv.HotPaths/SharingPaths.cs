using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// What sharing the database between processes costs one process (issue 14's targets): the same operations with
/// the lock file's reader table, publication and writer lock (<c>Exclusive = false</c>, the default) and without
/// them (<c>Exclusive = true</c>). Compare the rows of each method across the parameter: beginning and ending a
/// read transaction at most 1.2×, random reads and commits within 10%.
/// </summary>
[MemoryDiagnoser]
public class SharingPaths
{
    private const int Batch = 1_000;
    private Fixture _f = null!;
    private int _next;
    private long _n;

    [Params(false, true)]
    public bool Exclusive { get; set; }

    [GlobalSetup]
    public void Setup() => _f = new Fixture(Durability.Deferred, Exclusive);

    [GlobalCleanup]
    public void Cleanup() => _f.Dispose();

    /// <summary>BeginRead + Dispose: a reader slot claimed and freed.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long BeginReadDispose()
    {
        long sum = 0;
        for (int k = 0; k < Batch; k++)
        {
            using var tx = _f.Db.BeginRead();
            sum += tx.TxnId;
        }
        return sum;
    }

    /// <summary>A short read transaction with one random lookup, as a service's request would make.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ReadTransactionGet() => _f.GetEachInOwnTransaction(ref _next, Batch);

    /// <summary>A one-put Deferred commit: the writer lock across processes, and the publication in the lock file.</summary>
    [Benchmark]
    public void CommitDeferred()
    {
        using var tx = _f.Db.BeginWrite();
        tx.Put(_f.Key((int)(_n++ % Fixture.Count)), _f.Value(0));
        tx.Commit();
    }

    /// <summary>
    /// A one-put Deferred commit, then a read transaction on it: in shared mode the first reader of a new snapshot
    /// takes its snapshot lock and drops the previous one (docs/durability.md §14.6), two system calls.
    /// </summary>
    [Benchmark]
    public long CommitDeferredThenRead()
    {
        CommitDeferred();
        using var tx = _f.Db.BeginRead();
        return tx.TxnId;
    }

    /// <summary>A one-put Immediate commit: the flush under the cross-process flush lock.</summary>
    [Benchmark]
    public void CommitImmediate()
    {
        using var tx = _f.Db.BeginWrite();
        tx.Put(_f.Key((int)(_n++ % Fixture.Count)), _f.Value(1));
        tx.Commit(Durability.Immediate);
    }
}
