namespace MmapKv.Format;

/// <summary>Size limits derived from the page size (docs/format.md §4.4). Defined once; every check uses these.</summary>
internal static class Limits
{
    public const int MinPageSize = 4096;
    public const int MaxPageSize = 65536;
    public const int DefaultPageSize = 4096;

    /// <summary>
    /// Deepest tree the engine will follow. A branch holds at least 4 entries, so 40 levels is far beyond
    /// any file that fits in an address space; a deeper descent means a cycle or a corrupt page.
    /// </summary>
    public const int MaxTreeDepth = 40;

    /// <summary>
    /// Largest slot plus entry on a node page: a quarter of the usable space, so any page that overflows by one
    /// entry splits into two halves that each fit (invariant N4 in docs/format.md).
    /// </summary>
    public static int MaxEntrySize(int pageSize) => (pageSize - PageHeader.Size) / 4;

    /// <summary>Largest key: a leaf entry with an overflow reference (slot 8 + key + 4 + 8) still fits MaxEntrySize.</summary>
    public static int MaxKeySize(int pageSize) => MaxEntrySize(pageSize) - NodeLayout.SlotSize - NodeLayout.ValueInfoSize - 8;

    public static bool IsValidPageSize(int pageSize) =>
        pageSize >= MinPageSize && pageSize <= MaxPageSize && (pageSize & (pageSize - 1)) == 0;
}
