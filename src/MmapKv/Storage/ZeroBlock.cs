using System.Runtime.InteropServices;

namespace MmapKv.Storage;

/// <summary>
/// One block of zero bytes in native memory, shared by the process for writes of zeros (the tail prefault, W8). It
/// is allocated when first used and never freed or written.
/// </summary>
internal static unsafe class ZeroBlock
{
    /// <summary>The block's size: 64 KiB, sixteen 4 KiB pages per write call.</summary>
    public const int Length = 64 * 1024;

    /// <summary>The block (the type initializer, run once on first use, allocates it).</summary>
    public static readonly byte* Value = (byte*)NativeMemory.AllocZeroed(Length);
}
