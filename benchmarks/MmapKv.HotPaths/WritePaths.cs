using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// The write path: puts inside a transaction, and whole one-put transactions with each commit mode. Overwrites
/// of existing keys keep the database the same size however many iterations BenchmarkDotNet runs.
/// </summary>
[MemoryDiagnoser]
public class WritePaths
{
    private const int Batch = 1_000;
    private Fixture _f = null!;
    private int _next;

    [GlobalSetup]
    public void Setup() => _f = new Fixture(Durability.Deferred);

    [GlobalCleanup]
    public void Cleanup() => _f.Dispose();

    private int NextIndex()
    {
        int i = _f.Order[_next];
        if (++_next == Fixture.Count) _next = 0;
        return i;
    }

    /// <summary>A put (overwrite, random key) inside a 1,000-put transaction; the deferred commit is amortized over the batch.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void Put()
    {
        using var w = _f.Db.BeginWrite();
        for (int k = 0; k < Batch; k++)
        {
            int i = NextIndex();
            w.Put(_f.Key(i), _f.Value((i + 1) % Fixture.Count));
        }
        w.Commit(Durability.Deferred);
    }

    /// <summary>Begin, one put, deferred commit: the in-memory cost of a transaction.</summary>
    [Benchmark]
    public void CommitDeferred()
    {
        using var w = _f.Db.BeginWrite();
        int i = NextIndex();
        w.Put(_f.Key(i), _f.Value(i));
        w.Commit(Durability.Deferred);
    }

    /// <summary>Begin, one put, durable commit: msync of the pages, then of the meta page.</summary>
    [Benchmark]
    public void CommitImmediate()
    {
        using var w = _f.Db.BeginWrite();
        int i = NextIndex();
        w.Put(_f.Key(i), _f.Value(i));
        w.Commit(Durability.Immediate);
    }
}
