using MmapKv.Format;

namespace MmapKv.Pages;

/// <summary>
/// Checksum verification on first touch, for transactions opened with <c>KvOptions.VerifyChecksums</c>.
/// Each page is verified once per transaction; pages the transaction itself wrote carry no checksum until
/// commit and are skipped.
/// </summary>
internal sealed unsafe class PageVerifier
{
    private readonly HashSet<long> _verified = new();
    private readonly Func<long, bool>? _isOwnWrite;

    public PageVerifier(Func<long, bool>? isOwnWrite = null) => _isOwnWrite = isOwnWrite;

    public void Verify(long id, byte* page, long pages, int pageSize)
    {
        if (_verified.Contains(id) || (_isOwnWrite is not null && _isOwnWrite(id))) return;
        uint stored = PageHeader.Checksum(page), actual = Checksum.OfPage(page, pages * pageSize);
        if (stored != actual)
            Corrupt.Throw(id, $"checksum mismatch (stored {stored:x8}, computed {actual:x8})");
        _verified.Add(id);
    }
}
