namespace MmapKv.HotPaths;

/// <summary>
/// A database of <see cref="Count"/> entries shaped like the comparison harness's (24-byte random keys, 150-byte
/// random values, fixed seed), in a temporary directory deleted afterwards.
/// </summary>
internal sealed class Fixture : IDisposable
{
    public const int Count = 100_000;
    public const int KeySize = 24;
    public const int ValueSize = 150;

    private readonly string _dir;
    public KvDatabase Db { get; }
    public byte[] Keys { get; } = new byte[Count * KeySize];
    public byte[] Values { get; } = new byte[Count * ValueSize];

    /// <summary>A fixed random order of the keys, so lookups miss the CPU caches as they would in use.</summary>
    public int[] Order { get; } = new int[Count];

    public Fixture(Durability durability, bool exclusive = false, bool verifyChecksums = false)
    {
        var rng = new Random(20250101);
        rng.NextBytes(Keys);
        rng.NextBytes(Values);
        for (int i = 0; i < Count; i++) Order[i] = i;
        rng.Shuffle(Order);
        _dir = Path.Combine(Path.GetTempPath(), "mmapkv-hotpaths-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        Db = KvDatabase.Open(Path.Combine(_dir, "bench.mkv"), new KvOptions { MaxSize = 4L << 30, Durability = durability, Exclusive = exclusive, VerifyChecksums = verifyChecksums });
        using var w = Db.BeginWrite();
        for (int i = 0; i < Count; i++) w.Put(Key(i), Value(i));
        w.Commit(Durability.Immediate);
    }

    public ReadOnlySpan<byte> Key(int i) => Keys.AsSpan(i * KeySize, KeySize);

    public ReadOnlySpan<byte> Value(int i) => Values.AsSpan(i * ValueSize, ValueSize);

    /// <summary>
    /// <paramref name="batch"/> lookups of existing keys inside <paramref name="tx"/>, in <see cref="Order"/> from
    /// <paramref name="next"/> (advanced, wrapping); returns a sum of the values' first bytes.
    /// </summary>
    public int GetInTransaction(in ReadTransaction tx, ref int next, int batch)
    {
        int sum = 0, at = next;
        for (int k = 0; k < batch; k++)
        {
            tx.TryGet(Key(Order[at]), out var v);
            sum += v[0];
            if (++at == Count) at = 0;
        }
        next = at;
        return sum;
    }

    /// <summary>As <see cref="GetInTransaction"/>, each lookup in a read transaction of its own.</summary>
    public int GetEachInOwnTransaction(ref int next, int batch)
    {
        int sum = 0;
        for (int k = 0; k < batch; k++)
        {
            using var tx = Db.BeginRead();
            sum += GetInTransaction(tx, ref next, 1);
        }
        return sum;
    }

    public void Dispose()
    {
        Db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
