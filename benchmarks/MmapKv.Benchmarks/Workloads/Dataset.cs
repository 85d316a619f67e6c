using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>
/// The keys and values every engine writes: 24 random key bytes and 150 random value bytes per entry, from a
/// fixed seed, in unmanaged memory (16M entries are 2.8 GB, more than one managed array may hold).
/// </summary>
/// <remarks>
/// Entry ranges: [0, N) is the bulk-load set; after it come the individual writes, the batch writes and the
/// group-commit writes, each a disjoint range, so every insert is of a new key.
/// </remarks>
internal sealed unsafe class Dataset : IDisposable
{
    public const int KeySize = 24;
    public const int ValueSize = 150;
    public const int EntrySize = KeySize + ValueSize;
    public const ulong Seed = 0x4D6D_6170_4B76_2025; // "MmapKv 2025"

    private byte* _data;

    public long Count { get; }

    public Dataset(long count, ulong seed = Seed)
    {
        Count = count;
        _data = (byte*)NativeMemory.Alloc((nuint)(count * EntrySize));
        var rng = new Rng(seed);
        long words = count * EntrySize / 8;
        ulong* w = (ulong*)_data;
        for (long i = 0; i < words; i++) w[i] = rng.Next();
        for (long i = words * 8; i < count * EntrySize; i++) _data[i] = (byte)rng.Next();
    }

    public ReadOnlySpan<byte> Key(long i) => new(_data + i * EntrySize, KeySize);

    public ReadOnlySpan<byte> Value(long i) => new(_data + i * EntrySize + KeySize, ValueSize);

    /// <summary>What a reader adds to its checksum for one value (see <see cref="Checksum.Of"/>).</summary>
    public ulong ValueChecksum(long i) => Checksum.Of(Value(i));

    /// <summary>What a scan adds for one entry.</summary>
    public ulong EntryChecksum(long i) => Checksum.Of(Key(i)) + Checksum.Of(Value(i));

    /// <summary>Indices <c>[from, from + count)</c> sorted by key bytes.</summary>
    public int[] SortedByKey(int from, int count)
    {
        var idx = new int[count];
        for (int i = 0; i < count; i++) idx[i] = from + i;
        SortByKey(idx);
        return idx;
    }

    /// <summary>Sorts entry indices by their keys' bytes, in place.</summary>
    public void SortByKey(int[] idx)
    {
        // First 8 key bytes as a big-endian number decide almost every comparison without touching the rest.
        var prefix = new ulong[idx.Length];
        for (int i = 0; i < idx.Length; i++) prefix[i] = BinaryPrimitives.ReadUInt64BigEndian(Key(idx[i]));
        Array.Sort(prefix, idx);
        // Fix up runs with equal prefixes (vanishingly rare with random keys, but the order must be exact).
        for (int i = 1; i < idx.Length; i++)
        {
            if (prefix[i] != prefix[i - 1]) continue;
            int start = i - 1;
            while (i < idx.Length && prefix[i] == prefix[start]) i++;
            Array.Sort(idx, start, i - start, Comparer<int>.Create((a, b) => Key(a).SequenceCompareTo(Key(b))));
        }
    }

    /// <summary>A fixed-seed permutation of <c>[0, count)</c>.</summary>
    public static int[] Permutation(int count, ulong seed)
    {
        var p = new int[count];
        for (int i = 0; i < count; i++) p[i] = i;
        var rng = new Rng(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(rng.Next() % (ulong)(i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    public void Dispose()
    {
        if (_data != null) NativeMemory.Free(_data);
        _data = null;
    }

    /// <summary>xoshiro256**: fast, and the same sequence on every runtime (System.Random promises no such thing).</summary>
    public struct Rng
    {
        private ulong _s0, _s1, _s2, _s3;

        public Rng(ulong seed)
        {
            // splitmix64 expands the seed into the state.
            _s0 = SplitMix(ref seed);
            _s1 = SplitMix(ref seed);
            _s2 = SplitMix(ref seed);
            _s3 = SplitMix(ref seed);
        }

        private static ulong SplitMix(ref ulong x)
        {
            ulong z = x += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return z ^ (z >> 31);
        }

        public ulong Next()
        {
            ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }
    }
}

/// <summary>
/// A cheap order-independent checksum over what a workload read, so reads cannot be optimized away and every
/// engine's answers are checked against the data it was given: first and last 8 bytes plus the length.
/// </summary>
internal static class Checksum
{
    public static ulong Of(ReadOnlySpan<byte> v) => v.Length >= 8
        ? MemoryMarshal.Read<ulong>(v) + MemoryMarshal.Read<ulong>(v[^8..]) * 31 + (ulong)v.Length
        : (ulong)v.Length + (v.Length > 0 ? v[0] : 0u);
}
