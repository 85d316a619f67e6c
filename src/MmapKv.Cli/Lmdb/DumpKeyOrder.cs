namespace MmapKv.Cli.Lmdb;

/// <summary>
/// The header line that carries a tree's <see cref="KeyOrder"/> through mdb_dump text: <c>mmapkv_keyorder=NAME</c>,
/// written only for orders other than bytewise. LMDB has no equivalent flag (its <c>reversekey</c> compares bytes
/// from the end of the key, not descending; <c>integerkey</c> is native-endian and unsigned, 4 or 8 bytes), so the
/// order goes in a key of MmapKv's own. mdb_load 0.9 accepts it with the warning "unrecognized keyword ignored"
/// and loads the keys as bytes, ordered bytewise; <c>mmapkv load</c> creates the tree with that order again.
/// </summary>
internal static class DumpKeyOrder
{
    /// <summary>The header key.</summary>
    public const string HeaderKey = "mmapkv_keyorder";

    /// <summary>The value written for <paramref name="order"/>: the enum name, as <c>trees --order</c> prints it.</summary>
    public static string Name(KeyOrder order) => order switch
    {
        KeyOrder.Bytewise => nameof(KeyOrder.Bytewise),
        KeyOrder.Reverse => nameof(KeyOrder.Reverse),
        KeyOrder.Int64 => nameof(KeyOrder.Int64),
        KeyOrder.UInt64 => nameof(KeyOrder.UInt64),
        KeyOrder.Custom => nameof(KeyOrder.Custom),
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, "not a key order this tool knows"),
    };

    /// <summary>Reads a header value: one of the names <see cref="Name"/> writes, in any letter case.</summary>
    public static bool TryParse(string text, out KeyOrder order)
    {
        foreach (var o in (ReadOnlySpan<KeyOrder>)[KeyOrder.Bytewise, KeyOrder.Reverse, KeyOrder.Int64, KeyOrder.UInt64, KeyOrder.Custom])
        {
            if (string.Equals(text, Name(o), StringComparison.OrdinalIgnoreCase))
            {
                order = o;
                return true;
            }
        }
        order = KeyOrder.Bytewise;
        return false;
    }
}
