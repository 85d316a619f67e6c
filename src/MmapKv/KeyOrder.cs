namespace MmapKv;

/// <summary>
/// How a named tree orders its keys, fixed when the tree is created and stored in its descriptor
/// (docs/format.md §5, docs/design.md §16). Iteration, cursors and range scans follow it.
/// </summary>
#pragma warning disable CA1720 // Int64 and UInt64 name the integer types the keys hold, on purpose
public enum KeyOrder
{
    /// <summary>Unsigned bytewise, a shorter key first on a common prefix. The default, and the only order of the
    /// default tree.</summary>
    Bytewise = 0,

    /// <summary>The exact reverse of <see cref="Bytewise"/>.</summary>
    Reverse = 1,

    /// <summary>Keys are exactly 8 bytes, a signed 64-bit integer as
    /// <see cref="System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian"/> writes it, ordered numerically.
    /// A key of another length is an <see cref="ArgumentException"/>.</summary>
    Int64 = 2,

    /// <summary>Keys are exactly 8 bytes, an unsigned 64-bit integer as
    /// <see cref="System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian"/> writes it, ordered numerically.
    /// A key of another length is an <see cref="ArgumentException"/>.</summary>
    UInt64 = 3,

    /// <summary>An application's <see cref="IKeyComparer"/>. A tree of this order is opened only with the comparer
    /// (<c>OpenTree(name, comparer)</c>); pass the comparer, not this value, to create one.</summary>
    Custom = 255,
}
#pragma warning restore CA1720

/// <summary>
/// An application's key order for a named tree (<see cref="KeyOrder.Custom"/>). It must be a strict weak order
/// that never changes: the tree's pages are sorted by it, and a comparer that orders differently from the one that
/// wrote them makes lookups miss keys. The database stores a 16-bit hash of <see cref="Name"/> in the tree's
/// descriptor and refuses to open the tree with a comparer of another name.
/// </summary>
public interface IKeyComparer
{
    /// <summary>Negative if <paramref name="a"/> sorts before <paramref name="b"/>, zero if they are the same key,
    /// positive if after. Called from inside transactions: it must not throw or use the database.</summary>
    int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b);

    /// <summary>A stable name for this order (for example "myapp.utf8-ci/1"); change it when the order changes.</summary>
    string Name { get; }
}
