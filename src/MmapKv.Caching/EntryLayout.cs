using System.Buffers.Binary;

namespace MmapKv.Caching;

/// <summary>
/// How an entry is stored (docs/caching.md, "Storage layout"). The entries tree maps the key's UTF-8 bytes to a
/// 24-byte header followed by the value; a key too long for the tree is stored under a hash (<see cref="CacheKey"/>)
/// and its record carries the full key between header and value. The expiry tree maps (expiry, tree key) to nothing,
/// ordered by expiry, so the sweep and the evictor read the soonest-expiring entries first. Times are UTC ticks.
/// </summary>
internal static class EntryLayout
{
    public const string EntriesTree = "cache-entries";
    public const string ExpiryTree = "cache-expiry";
    public const string MetaTree = "cache-meta";
    public static ReadOnlySpan<byte> FormatKey => "format"u8;
    public const byte FormatVersion = 1;

    /// <summary>absolute expiry (0: none), sliding window (0: none), current expiry; little-endian int64 each.</summary>
    public const int HeaderSize = 24;

    /// <summary>Big-endian expiry ticks in front of the key in the expiry tree.</summary>
    public const int IndexPrefix = 8;

    /// <summary>
    /// First byte of a hashed (long) key's tree key. UTF-8 never produces it, so a short key cannot collide with a
    /// hashed one, and a reader of layout 1 from before long keys never addresses such a row.
    /// </summary>
    public const byte LongKeyMarker = 0xFF;

    /// <summary>Size of a XxHash128 digest.</summary>
    public const int KeyHashSize = 16;

    /// <summary>A hashed key's tree key: the marker, then the XxHash128 of the full key's UTF-8 bytes.</summary>
    public const int HashedKeySize = 1 + KeyHashSize;

    /// <summary>The little-endian int32 length in front of a long key's full bytes in its record, after the header.</summary>
    public const int KeyLengthSize = 4;

    public static bool IsHashedTreeKey(ReadOnlySpan<byte> treeKey) => treeKey.Length == HashedKeySize && treeKey[0] == LongKeyMarker;

    /// <summary>
    /// Where the value starts in <paramref name="record"/>, found under <paramref name="key"/>'s tree key: after the
    /// header, and for a long key after its stored full key. -1 when the record holds another long key with the same
    /// hash (a collision is a miss, never another key's value).
    /// </summary>
    public static int ValueStart(ReadOnlySpan<byte> record, in CacheKey key)
    {
        if (!key.IsHashed) return HeaderSize;
        var stored = StoredFullKey(record);
        return stored.SequenceEqual(key.Full) ? HeaderSize + KeyLengthSize + stored.Length : -1;
    }

    /// <summary>The full key stored in a long key's record (checked against the record's bounds).</summary>
    public static ReadOnlySpan<byte> StoredFullKey(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderSize + KeyLengthSize)
            throw new CorruptDatabaseException($"A long-key cache record of {record.Length} bytes is shorter than its header and key length.");
        int length = BinaryPrimitives.ReadInt32LittleEndian(record[HeaderSize..]);
        if (length <= 0 || length > record.Length - HeaderSize - KeyLengthSize)
            throw new CorruptDatabaseException($"A long-key cache record of {record.Length} bytes says its key is {length} bytes.");
        return record.Slice(HeaderSize + KeyLengthSize, length);
    }

    /// <summary>Writes what the record holds of <paramref name="key"/> after the header (a long key's length and bytes; nothing for a short key); returns where the value starts.</summary>
    public static int WriteKey(Span<byte> record, in CacheKey key)
    {
        if (!key.IsHashed) return HeaderSize;
        BinaryPrimitives.WriteInt32LittleEndian(record[HeaderSize..], key.Full.Length);
        key.Full.CopyTo(record[(HeaderSize + KeyLengthSize)..]);
        return HeaderSize + KeyLengthSize + key.Full.Length;
    }

    /// <summary>Bytes an entry is accounted for: both tree records (the key twice, the header, the value).</summary>
    public static long AccountedSize(int keyBytes, long recordBytes) => 2L * keyBytes + IndexPrefix + recordBytes;

    public static EntryHeader ReadHeader(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderSize) throw new CorruptDatabaseException($"A cache record of {record.Length} bytes is shorter than its {HeaderSize}-byte header.");
        return new EntryHeader(
            BinaryPrimitives.ReadInt64LittleEndian(record),
            BinaryPrimitives.ReadInt64LittleEndian(record[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(record[16..]));
    }

    public static void WriteHeader(Span<byte> record, in EntryHeader h)
    {
        BinaryPrimitives.WriteInt64LittleEndian(record, h.AbsoluteTicks);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], h.SlidingTicks);
        BinaryPrimitives.WriteInt64LittleEndian(record[16..], h.ExpiresTicks);
    }

    /// <summary>Writes the expiry-tree key (expiry big-endian, then the key) into <paramref name="destination"/>; returns its length.</summary>
    public static int WriteIndexKey(Span<byte> destination, long expiresTicks, ReadOnlySpan<byte> key)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, expiresTicks);
        key.CopyTo(destination[IndexPrefix..]);
        return IndexPrefix + key.Length;
    }

    public static long IndexExpiry(ReadOnlySpan<byte> indexKey) => BinaryPrimitives.ReadInt64BigEndian(indexKey);
}

/// <summary>The expiry fields of an entry, in UTC ticks; 0 means "none" for the first two.</summary>
internal readonly record struct EntryHeader(long AbsoluteTicks, long SlidingTicks, long ExpiresTicks)
{
    public bool IsExpiredAt(long nowTicks) => ExpiresTicks <= nowTicks;
}
