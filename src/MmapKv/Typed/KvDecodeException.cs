namespace MmapKv;

/// <summary>
/// A key or value stored in a tree could not be decoded by the codec a <see cref="KvTree{TKey, TValue}"/> was opened
/// with: usually the tree was written with another type or codec (for example a 4-byte <see cref="int"/> read as an
/// 8-byte <see cref="long"/>). The file is not damaged, so this is not a <see cref="CorruptDatabaseException"/>. The
/// message names the tree and the lengths of the key and the value, never their bytes; the codec's own error is the
/// <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class KvDecodeException : MmapKvException
{
    /// <summary>Creates the exception.</summary>
    public KvDecodeException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>The tree that holds the entry.</summary>
    public string? TreeName { get; init; }

    /// <summary>The length in bytes of the entry's stored key.</summary>
    public int KeyLength { get; init; }
}
