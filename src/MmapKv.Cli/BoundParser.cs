using System.Buffers.Binary;
using System.Globalization;

namespace MmapKv.Cli;

/// <summary>
/// Turns <c>scan</c>'s <c>--prefix</c>, <c>--from</c> and <c>--to</c> text into key bytes for a tree of a given
/// order. Bytewise and reverse trees take bytes in the <c>--format</c>; an <c>Int64</c> or <c>UInt64</c> tree takes
/// numbers (as scan prints its keys), encoded as the order's 8-byte little-endian keys (KeyOrder's docs), and has no
/// prefixes: a bound that cannot be read is a <see cref="UsageException"/> naming why.
/// </summary>
internal static class BoundParser
{
    /// <summary>The bound's key bytes; null when <paramref name="text"/> is null. An empty text is an empty key
    /// (<see cref="KeyRange"/> gives it its meaning in the tree's order).</summary>
    /// <param name="text">The option's text, or null when it was not given.</param>
    /// <param name="what">The option, for messages: <c>--prefix</c>, <c>--from</c> or <c>--to</c>.</param>
    /// <param name="order">The order of the tree the bound applies to.</param>
    /// <param name="format">The <c>--format</c>, for the bytes of a bytewise or reverse tree's bound.</param>
    /// <param name="tree">The tree's name, for messages (null: the default tree).</param>
    public static byte[]? Parse(string? text, string what, KeyOrder order, ByteFormat format, string? tree)
    {
        if (text is null) return null;
        if (order is not (KeyOrder.Int64 or KeyOrder.UInt64)) return ByteFormats.Decode(text, format, what);
        string which = $"tree '{tree}' is ordered {order}";
        if (what == "--prefix")
            throw new UsageException($"--prefix does not apply: {which}, whose keys are numbers; give a range with --from and --to");
        var key = new byte[8];
        if (order == KeyOrder.Int64)
        {
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
                throw new UsageException($"{what} '{text}' is not a whole number from {long.MinValue} to {long.MaxValue}: {which}, so its bounds are signed 64-bit integers");
            BinaryPrimitives.WriteInt64LittleEndian(key, n);
        }
        else
        {
            if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n))
                throw new UsageException($"{what} '{text}' is not a whole number from 0 to {ulong.MaxValue}: {which}, so its bounds are unsigned 64-bit integers");
            BinaryPrimitives.WriteUInt64LittleEndian(key, n);
        }
        return key;
    }
}
