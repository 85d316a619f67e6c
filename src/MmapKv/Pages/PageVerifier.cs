using MmapKv.Format;

namespace MmapKv.Pages;

/// <summary>
/// Checksum verification on first touch, for transactions opened with <c>KvOptions.VerifyChecksums</c>.
/// Each page is verified once per transaction; pages the transaction itself wrote carry no checksum until
/// commit and are skipped.
/// </summary>
internal sealed unsafe class PageVerifier
{
    private HashSet<long> _verified = new();
    private readonly Func<long, bool>? _isOwnWrite;

    public PageVerifier(Func<long, bool>? isOwnWrite = null) => _isOwnWrite = isOwnWrite;

    /// <summary>
    /// Forgets every page verified, so a write transaction can reuse the verifier of the one before it. A set that
    /// grew past <paramref name="retainLimit"/> entries is dropped rather than cleared (clearing costs its capacity).
    /// </summary>
    public void Reset(int retainLimit)
    {
        if (_verified.EnsureCapacity(0) > retainLimit) _verified = new();
        else _verified.Clear();
    }

    /// <summary>Pages verified so far.</summary>
    public int Count => _verified.Count;

    /// <summary>Forgets every page verified, so a reused read transaction verifies its new snapshot afresh.</summary>
    public void Clear() => _verified.Clear();

    public void Verify(long id, byte* page, long pages, int pageSize)
    {
        if (_verified.Contains(id) || (_isOwnWrite is not null && _isOwnWrite(id))) return;
        uint stored = PageHeader.Checksum(page), actual = Checksum.OfPage(page, pages * pageSize);
        if (stored != actual)
            Corrupt.Throw(id, $"checksum mismatch (stored {stored:x8}, computed {actual:x8})");
        _verified.Add(id);
    }
}
