using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// The write path: puts inside a transaction, and whole one-put transactions with each commit mode. Overwrites
/// of existing keys keep the database the same size however many iterations BenchmarkDotNet runs. In steady state
/// a put and a whole transaction allocate nothing (the WriteTransaction is a handle); the setup runs the
/// workload until the file and the reused buffers have reached their size, so the memory diagnoser sees that state
/// and not the growth before it.
/// </summary>
[MemoryDiagnoser]
public class WritePaths
{
    private const int Batch = 1_000;
    private Fixture _f = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _f = new Fixture(Durability.Deferred);
        // Every key overwritten twice over (each time freeing and reusing pages) before anything is measured.
        for (int n = 0; n < 2 * Fixture.Count / Batch; n++) Put();
        for (int n = 0; n < 3 * Batch; n++) CommitDeferred();
        _f.Db.Flush();
    }

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

    /// <summary>Begin, one reserve filled in place, deferred commit: the zero-copy put (the value is written once, into its page).</summary>
    [Benchmark]
    public void ReserveDeferred()
    {
        using var w = _f.Db.BeginWrite();
        int i = NextIndex();
        _f.Value(i).CopyTo(w.Reserve(_f.Key(i), Fixture.ValueSize));
        w.Commit(Durability.Deferred);
    }

    /// <summary>Begin, one put, durable commit: the pages and the meta page (with its commit list) under one device flush.</summary>
    [Benchmark]
    public void CommitImmediate()
    {
        using var w = _f.Db.BeginWrite();
        int i = NextIndex();
        w.Put(_f.Key(i), _f.Value(i));
        w.Commit(Durability.Immediate);
    }
}
