namespace MmapKv.Format;

/// <summary>The kind byte of a page header. See docs/format.md §3.</summary>
internal enum PageKind : byte
{
    /// <summary>Never written by a commit; a zeroed page.</summary>
    None = 0,
    /// <summary>B+tree interior page: separator keys and child page ids.</summary>
    Branch = 1,
    /// <summary>B+tree leaf page: keys with inline values or overflow references.</summary>
    Leaf = 2,
    /// <summary>First page of a run holding one large value.</summary>
    Overflow = 3,
    /// <summary>First page of the free-map directory run: the ids of the bitmap pages.</summary>
    FreeMapDirectory = 4,
    /// <summary>A free-map bitmap page: one bit per page, 1 = free.</summary>
    FreeMapBitmap = 5,
    /// <summary>First page of the persistent-savepoint table run (docs/format.md §13).</summary>
    SavepointTable = 6,
}
