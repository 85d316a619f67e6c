using System.Numerics;
using System.Runtime.CompilerServices;

namespace MmapKv.Format;

/// <summary>CRC32C (Castagnoli) over raw memory, hardware-accelerated through <see cref="BitOperations.Crc32C(uint, ulong)"/>.</summary>
internal static unsafe class Checksum
{
    /// <summary>CRC32C with the standard initial value and final inversion (docs/format.md §2).</summary>
    public static uint Compute(byte* data, long length)
    {
        uint crc = ~0u;
        long i = 0;
        // Four independent 8-byte lanes would be faster, but one lane keeps the value a plain CRC32C
        // that any tool can reproduce.
        for (; i + 8 <= length; i += 8) crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(data + i));
        for (; i < length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data) return Compute(p, data.Length);
    }

    /// <summary>Checksum of a page or run: every byte after the checksum field, up to <paramref name="extent"/>.</summary>
    public static uint OfPage(byte* page, long extent) => Compute(page + 4, extent - 4);
}
