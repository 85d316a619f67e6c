using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// Page checksums per 4 KiB page and 64 KiB run: the scalar <c>BitOperations.Crc32C</c> loop the engine used
/// first, CRC-32C through System.IO.Hashing (what docs/format.md §2 specifies and the engine uses), and XxHash3,
/// the faster hash a format change could adopt. Random bytes, the same buffer every call (in the CPU cache, as a
/// page being sealed or verified just written or read is).
/// </summary>
public class ChecksumPaths
{
    private byte[] _data = null!;

    [Params(4096, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(20261204).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public uint Crc32CScalarLoop()
    {
        uint crc = ~0u;
        var words = MemoryMarshal.Cast<byte, ulong>(_data);
        foreach (ulong w in words) crc = BitOperations.Crc32C(crc, w);
        return ~crc;
    }

    [Benchmark]
    public uint Crc32CSystemIOHashing() => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, _data);

    [Benchmark]
    public ulong XxHash3() => System.IO.Hashing.XxHash3.HashToUInt64(_data);
}
