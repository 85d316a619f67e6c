namespace MmapKv.FreeSpace;

/// <summary>
/// A verified free-map directory (docs/format.md §7.2): the bitmap pages in order, and the delta entries
/// (<see cref="FreeMapDelta"/>) in ascending page order.
/// </summary>
internal readonly record struct FreeMapDirectory(long[] Bitmaps, long[] Delta)
{
    /// <summary>The map of a state that has none (a new file): no bitmap, nothing free.</summary>
    public static FreeMapDirectory None { get; } = new([], []);
}
