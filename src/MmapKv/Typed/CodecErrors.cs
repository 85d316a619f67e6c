using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MmapKv;

/// <summary>The codecs' throw helpers, kept out of their small, inlinable methods.</summary>
internal static class CodecErrors
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowWrongLength(string what, int expected, int actual) =>
        throw new FormatException($"{what} is encoded in {expected} bytes; these are {actual} bytes.");
}
