using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// The cost of <see cref="KvOptions.DebugSpans"/> (docs/durability.md §12.5): read transactions of one lookup and
/// of 100 lookups, with the option off and on, over the <see cref="Fixture"/>'s data shape (24-byte keys, 150-byte
/// values). Each transaction is short because with the option on every span handed out is kept until the
/// transaction ends. Off must allocate nothing; on pays a copy per value and, per transaction that hands out
/// spans, one guarded native allocation and its retirement (system calls, no managed allocation).
/// </summary>
[MemoryDiagnoser]
public class DebugSpansPaths
{
    private const int Lookups = 100;
    private string _dir = null!;
    private KvDatabase _db = null!;
    private byte[] _keys = null!;
    private int[] _order = null!;
    private int _next;

    /// <summary>Whether the database is opened with <see cref="KvOptions.DebugSpans"/>.</summary>
    [Params(false, true)]
    public bool DebugSpans { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(20250101);
        _keys = new byte[Fixture.Count * Fixture.KeySize];
        var values = new byte[Fixture.Count * Fixture.ValueSize];
        rng.NextBytes(_keys);
        rng.NextBytes(values);
        _order = Enumerable.Range(0, Fixture.Count).ToArray();
        rng.Shuffle(_order);
        _dir = Path.Combine(Path.GetTempPath(), "mmapkv-debugspans-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _db = KvDatabase.Open(Path.Combine(_dir, "bench.mkv"), new KvOptions { MaxSize = 4L << 30, DebugSpans = DebugSpans });
        using var w = _db.BeginWrite();
        for (int i = 0; i < Fixture.Count; i++) w.Put(Key(i), values.AsSpan(i * Fixture.ValueSize, Fixture.ValueSize));
        w.Commit(Durability.Immediate);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ReadOnlySpan<byte> Key(int i) => _keys.AsSpan(i * Fixture.KeySize, Fixture.KeySize);

    /// <summary>Begin a read transaction, one TryGet, end it.</summary>
    [Benchmark]
    public int ReadTransactionOf1Get()
    {
        using var tx = _db.BeginRead();
        tx.TryGet(Key(_order[_next]), out var v);
        if (++_next == Fixture.Count) _next = 0;
        return v[0];
    }

    /// <summary>Begin a read transaction, 100 TryGets, end it; per lookup.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public int ReadTransactionOf100Gets()
    {
        int sum = 0, at = _next;
        using (var tx = _db.BeginRead())
            for (int k = 0; k < Lookups; k++)
            {
                tx.TryGet(Key(_order[at]), out var v);
                sum += v[0];
                if (++at == Fixture.Count) at = 0;
            }
        _next = at;
        return sum;
    }
}
