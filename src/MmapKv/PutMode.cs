namespace MmapKv;

/// <summary>
/// What <see cref="WriteTransaction.Put(ReadOnlySpan{byte}, ReadOnlySpan{byte}, PutMode)"/> (and the same method of
/// <see cref="KvTree"/>) does when the key is, or is not, already there.
/// </summary>
public enum PutMode
{
    /// <summary>Insert the key, or overwrite its value if it exists (what the two-argument <c>Put</c> does).</summary>
    Upsert = 0,

    /// <summary>Insert only: if the key exists, leave it and its value as they are and return false.</summary>
    InsertOnly = 1,

    /// <summary>Overwrite only: if the key does not exist, insert nothing and return false.</summary>
    UpdateOnly = 2,
}
