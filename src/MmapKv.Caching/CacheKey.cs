using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace MmapKv.Caching;

/// <summary>
/// A cache key as the file stores it (docs/caching.md, "Storage layout"), in one array rented from
/// <see cref="ArrayPool{T}.Shared"/> that lives across awaits (a rent allocates nothing once the pool is warm, so a
/// Get allocates nothing for its key); dispose it exactly once. A key of at most <c>MaxKeySize - 8</c> UTF-8 bytes
/// is its own tree key. A longer one is stored under <see cref="EntryLayout.LongKeyMarker"/> followed by the
/// XxHash128 of its UTF-8 bytes, and its full bytes go into the record (<see cref="EntryLayout"/>), where every read,
/// slide and remove compares them, so two long keys that share a hash never see each other's entry.
/// </summary>
internal readonly struct CacheKey : IDisposable
{
    private readonly byte[] _buffer; // rented: longer than the key
    private readonly int _length;
    private readonly int _treeLength;

    private CacheKey(byte[] buffer, int length, int treeLength)
    {
        _buffer = buffer;
        _length = length;
        _treeLength = treeLength;
    }

    /// <summary>The key in the entries tree (and after the expiry prefix in the expiry tree).</summary>
    public Span<byte> Tree => _buffer.AsSpan(0, _treeLength);

    /// <summary>True for a long key: the tree key is a hash and the record carries <see cref="Full"/>.</summary>
    public bool IsHashed => _length > _treeLength;

    /// <summary>A long key's full UTF-8 bytes (empty for a short key, whose tree key is the key).</summary>
    public ReadOnlySpan<byte> Full => _buffer.AsSpan(_treeLength, _length - _treeLength);

    /// <summary>Bytes the record spends on the key: the length-prefixed full key of a long key, nothing for a short one.</summary>
    public int RecordKeyBytes => IsHashed ? EntryLayout.KeyLengthSize + Full.Length : 0;

    /// <summary>Encodes <paramref name="key"/>; a key of more than <paramref name="maxDirectBytes"/> UTF-8 bytes is hashed.</summary>
    /// <exception cref="ArgumentException">The key is empty.</exception>
    public static CacheKey Encode(string key, int maxDirectBytes)
    {
        if (key.Length == 0) throw new ArgumentException("A cache key must not be empty.", nameof(key));
        int length = Encoding.UTF8.GetByteCount(key);
        if (length <= maxDirectBytes)
        {
            var direct = ArrayPool<byte>.Shared.Rent(length);
            Encoding.UTF8.GetBytes(key, direct);
            return new CacheKey(direct, length, length);
        }
        // [tree key: marker, 16-byte hash][full key]. UTF-8 never produces the byte 0xFF, so no short key can
        // equal a hashed one.
        int total = EntryLayout.HashedKeySize + length;
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        var full = buffer.AsSpan(EntryLayout.HashedKeySize, length);
        Encoding.UTF8.GetBytes(key, full);
        buffer[0] = EntryLayout.LongKeyMarker;
        XxHash128.Hash(full, buffer.AsSpan(1, EntryLayout.KeyHashSize));
        return new CacheKey(buffer, total, EntryLayout.HashedKeySize);
    }

    /// <summary>Returns the buffer to the pool. Only the one owner disposes (copies share the buffer).</summary>
    public void Dispose()
    {
        if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
    }
}
