using System.IO.Hashing;

namespace MmapKv.Format;

/// <summary>
/// CRC-32C (Castagnoli) over raw memory (docs/format.md §2), through System.IO.Hashing's vectorized implementation:
/// bit-identical to a plain CRC-32C, so any tool can reproduce it, and measured here at 1.6× the speed of a
/// <c>BitOperations.Crc32C</c> loop (15.4 vs 9.4 GB/s on a 4 KiB page, 15.3 vs 9.9 GB/s on 64 KiB).
/// </summary>
internal static unsafe class Checksum
{
    /// <summary>CRC-32C with the standard initial value and final inversion.</summary>
    public static uint Compute(byte* data, long length)
    {
        if (length <= int.MaxValue) return Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, new ReadOnlySpan<byte>(data, (int)length));
        // An overflow run of a value near 2 GiB: hash it in pieces (allocates one small object, for such runs only).
        var crc = new Crc32(Crc32ParameterSet.Crc32C);
        for (long at = 0; at < length; at += 1 << 30)
            crc.Append(new ReadOnlySpan<byte>(data + at, (int)Math.Min(1 << 30, length - at)));
        return crc.GetCurrentHashAsUInt32();
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);

    /// <summary>Checksum of a page or run: every byte after the checksum field, up to <paramref name="extent"/>.</summary>
    public static uint OfPage(byte* page, long extent) => Compute(page + 4, extent - 4);
}
