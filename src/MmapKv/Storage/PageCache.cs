using Microsoft.Win32.SafeHandles;

namespace MmapKv.Storage;

/// <summary>
/// Drops a file's cached pages after the file was written with <c>write</c> and synced, so that a database later
/// opened on it starts from pages the map brings in itself (docs/durability.md §13.1).
/// </summary>
/// <remarks>
/// Why: Linux caches what <c>write</c> and readahead bring in as large folios (tens of KiB to MiBs), while the map,
/// advised random, faults 4 KiB folios. A store through a shared map dirties a whole folio, and writeback writes all
/// of it: a database whose pages sit in large folios wrote 0.2–1.7 MB per one-put commit instead of about 24 KiB
/// (docs/benchmarks.md, "Large folios and copies"). Dropping the pages of a synced file loses nothing (they are on the
/// device) and costs only the copy's warmth. Only clean pages that no process maps are dropped; the call is advice,
/// and its failure is ignored.
/// </remarks>
internal static class PageCache
{
    /// <summary>Asks the kernel to drop <paramref name="file"/>'s clean cached pages (Linux; elsewhere nothing).</summary>
    public static void Drop(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux() || file.IsInvalid || file.IsClosed) return;
        _ = Libc.PosixFadvise((int)file.DangerousGetHandle(), 0, 0, Libc.Constants.POSIX_FADV_DONTNEED);
    }
}
