using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// The read path: point lookups, seeks and cursor steps inside one long-lived read transaction, and a whole short
/// read transaction. Each must allocate nothing (the memory diagnoser's "Allocated" column must read "-" or 0 B).
/// </summary>
[MemoryDiagnoser]
public class ReadPaths
{
    private const int Batch = 1_000;
    private Fixture _f = null!;
    private ReadTransaction _tx;
    private KvCursor _cursor = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _f = new Fixture(Durability.Immediate);
        _tx = _f.Db.BeginRead();
        _cursor = _tx.OpenCursor();
        _cursor.First();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cursor.Dispose();
        _tx.Dispose();
        _f.Dispose();
    }

    /// <summary>A lookup of an existing key, in random key order.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int Get() => _f.GetInTransaction(_tx, ref _next, Batch);

    /// <summary>A lookup of a key that is not there.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int GetMissing()
    {
        Span<byte> key = stackalloc byte[Fixture.KeySize];
        int found = 0, at = _next;
        for (int k = 0; k < Batch; k++)
        {
            _f.Key(_f.Order[at]).CopyTo(key);
            key[^1] ^= 0x5A;
            found += _tx.TryGet(key, out _) ? 1 : 0;
            if (++at == Fixture.Count) at = 0;
        }
        _next = at;
        return found;
    }

    /// <summary>Positioning a cursor at a random existing key.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int Seek()
    {
        int sum = 0, at = _next;
        for (int k = 0; k < Batch; k++)
        {
            _cursor.Seek(_f.Key(_f.Order[at]));
            sum += _cursor.Value[0];
            if (++at == Fixture.Count) at = 0;
        }
        _next = at;
        return sum;
    }

    /// <summary>One cursor step and a read of the entry, wrapping to the first key at the end.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int CursorNext()
    {
        int sum = 0;
        for (int k = 0; k < Batch; k++)
        {
            if (!_cursor.Next()) _cursor.First();
            sum += _cursor.Key[0] + _cursor.Value[0];
        }
        return sum;
    }

    /// <summary>A whole short read transaction: begin, one get, end. Allocates nothing: the transaction's state is
    /// reused by the next one on the same reader slot.</summary>
    [Benchmark]
    public int ReadTransactionGet()
    {
        using var tx = _f.Db.BeginRead();
        tx.TryGet(_f.Key(_f.Order[_next++ % Fixture.Count]), out var v);
        return v[0];
    }
}
