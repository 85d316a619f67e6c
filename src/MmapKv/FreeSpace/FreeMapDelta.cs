namespace MmapKv.FreeSpace;

/// <summary>
/// One entry of the free map's delta (docs/format.md §7.2): a page whose status in the state differs from its bit in
/// the bitmaps, as a <c>u64</c> with the page id in bits 0–62 and bit 63 set when the page is free.
/// </summary>
internal static class FreeMapDelta
{
    private const long FreeFlag = long.MinValue; // bit 63

    public static long Entry(long page, bool free) => free ? page | FreeFlag : page;

    public static long PageOf(long entry) => entry & ~FreeFlag;

    public static bool IsFree(long entry) => (entry & FreeFlag) != 0;
}
