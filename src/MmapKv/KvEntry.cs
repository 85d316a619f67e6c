namespace MmapKv;

/// <summary>
/// One entry of a scan (<see cref="KvScan"/>, or a multimap tree's <see cref="KvMultiScan"/>): its key and value,
/// pointing into the memory map (nothing is copied). The spans are valid until the transaction ends; in a write
/// transaction, also only until its next write. A multimap key with a 0x00 byte is decoded into the enumerator's
/// buffer, and is valid only until the next step.
/// </summary>
public readonly ref struct KvEntry
{
    internal KvEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Key = key;
        Value = value;
    }

    /// <summary>The key.</summary>
    public ReadOnlySpan<byte> Key { get; }

    /// <summary>The value.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Splits the entry, for <c>foreach (var (key, value) in tx.Scan())</c>.</summary>
    public void Deconstruct(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = Key;
        value = Value;
    }
}
