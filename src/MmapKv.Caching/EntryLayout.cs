using System.Buffers.Binary;

namespace MmapKv.Caching;

/// <summary>
/// How an entry is stored (docs/caching.md, "Storage layout"). The entries tree maps the key's UTF-8 bytes to a
/// 24-byte header followed by the value; the expiry tree maps (expiry, key) to nothing, ordered by expiry, so the
/// sweep and the evictor read the soonest-expiring entries first. Times are UTC ticks.
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
