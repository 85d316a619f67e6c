using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// The typed layer's lookup against the byte API's: the same named tree of <see cref="Count"/> string keys and long
/// values, looked up in the same random order inside one long-lived read transaction. The raw row is handed the keys
/// already encoded as UTF-8 and reads the value's 8 bytes itself; the typed row encodes each key and decodes each
/// value through <see cref="KvTree{TKey, TValue}"/>. Target: typed at most 1.2 times raw, and neither allocates.
/// </summary>
[MemoryDiagnoser]
public class TypedPaths
{
    private const int Count = 100_000;
    private const int Batch = 1_000;
    private const string TreeName = "counters";

    private string _dir = null!;
    private KvDatabase _db = null!;
    private ReadTransaction _tx;
    private KvTree _raw = null!;
    private KvTree<string, long> _typed = null!;
    private string[] _keys = null!;
    private byte[][] _encodedKeys = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(20251202);
        // Keys shaped like application ids ("user:" and 12 to 20 random letters and digits), in a random order.
        _keys = new string[Count];
        var seen = new HashSet<string>();
        for (int i = 0; i < Count; i++)
        {
            string key;
            do key = "user:" + new string(rng.GetItems("abcdefghijklmnopqrstuvwxyz0123456789".AsSpan(), rng.Next(12, 21)));
            while (!seen.Add(key));
            _keys[i] = key;
        }
        _encodedKeys = _keys.Select(Encoding.UTF8.GetBytes).ToArray();
        _dir = Path.Combine(Path.GetTempPath(), "mmapkv-hotpaths-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _db = KvDatabase.Open(Path.Combine(_dir, "bench.mkv"), new KvOptions { MaxSize = 4L << 30 });
        using (var w = _db.BeginWrite())
        {
            var tree = w.OpenTree<string, long>(TreeName);
            for (int i = 0; i < Count; i++) tree.Put(_keys[i], i);
            w.Commit();
        }
        _tx = _db.BeginRead();
        _raw = _tx.OpenTree(TreeName);
        _typed = _tx.OpenTree<string, long>(TreeName);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tx.Dispose();
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The byte API: a lookup of a pre-encoded key, and the value read as Int64Codec stores it.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long RawTryGet()
    {
        long sum = 0;
        int at = _next;
        for (int k = 0; k < Batch; k++)
        {
            if (_raw.TryGet(_encodedKeys[at], out var v)) sum += (long)(BinaryPrimitives.ReadUInt64BigEndian(v) ^ (1UL << 63));
            if (++at == Count) at = 0;
        }
        _next = at;
        return sum;
    }

    /// <summary>The typed layer: <c>KvTree&lt;string, long&gt;.TryGet</c>, which encodes the key and decodes the value.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long TypedTryGet()
    {
        long sum = 0;
        int at = _next;
        for (int k = 0; k < Batch; k++)
        {
            if (_typed.TryGet(_keys[at], out long v)) sum += v;
            if (++at == Count) at = 0;
        }
        _next = at;
        return sum;
    }
}
