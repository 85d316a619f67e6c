namespace MmapKv.Storage;

/// <summary>
/// The one seam between the engine and the operating system: a file mapped at a fixed address, and the calls that
/// move its bytes to stable storage. The engine reads and writes pages only through <see cref="Base"/>; it never
/// uses read or write calls. Tests replace this interface with a simulated store that models crashes.
/// </summary>
/// <remarks>
/// Invariants every implementation keeps:
/// <list type="number">
/// <item>S1: <see cref="Base"/> never changes while the storage is open (no remap), so spans into the map stay valid.</item>
/// <item>S2: after <see cref="Grow"/> returns, the new blocks are allocated, so writes through the map below
/// <see cref="Length"/> cannot fail for lack of space. The new length becomes durable with the next
/// <see cref="SyncData"/> or <see cref="Sync"/> (S5), or earlier at the OS's choice; until then a crash may leave the
/// file at its old length (docs/durability.md §5.1).</item>
/// <item>S3: after <see cref="Flush"/> returns, the given range is durable. Nothing else is promised about order:
/// any other dirty byte may reach the disk earlier or later.</item>
/// <item>S4: a failed <see cref="Flush"/>, <see cref="StartWriteback"/>, <see cref="SyncData"/> or <see cref="Sync"/>
/// leaves its range in an unknown state.</item>
/// <item>S5: after <see cref="SyncData"/> returns, every byte written through the map before the call, and the file
/// length, are durable (one device cache flush). <see cref="StartWriteback"/> promises nothing by itself: it may
/// write any part of its range, or none.</item>
/// </list>
/// </remarks>
internal unsafe interface IStorage : IDisposable
{
    /// <summary>Start of the reservation of <see cref="Capacity"/> bytes.</summary>
    byte* Base { get; }

    /// <summary>Bytes reserved in the address space: the most the file may ever grow to while open.</summary>
    long Capacity { get; }

    /// <summary>Current file length in bytes. Only <c>[Base, Base + Length)</c> may be touched.</summary>
    long Length { get; }

    /// <summary>Whether the map is read-only.</summary>
    bool IsReadOnly { get; }

    /// <summary>Extends the file to <paramref name="newLength"/> with allocated blocks; the length is durable only after the next sync (S2).</summary>
    /// <exception cref="DatabaseFullException">The disk is full or the capacity is reached. The file is unchanged in meaning.</exception>
    void Grow(long newLength);

    /// <summary>
    /// Stores <paramref name="data"/> at <paramref name="offset"/> through the map. Tree pages are written through
    /// <see cref="Base"/> directly; meta records go through here, so that a store is visible as one even when it
    /// writes the bytes already there (the kernel marks a page dirty on any store, which the open relies on).
    /// </summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>
    /// Cuts the file to <paramref name="newLength"/> and makes that durable. Used only at close, for space
    /// allocated ahead of use that no meta references.
    /// </summary>
    void Shrink(long newLength);

    /// <summary>
    /// Closes the file and releases its lock, so the file can be opened again at once, while the map stays
    /// readable (and <see cref="Flush"/> usable) until <see cref="IDisposable.Dispose"/>. Nothing else may be called
    /// after it. Idempotent.
    /// </summary>
    void CloseFile();

    /// <summary>
    /// Advice that the writer is about to store into every page of <c>[offset, offset + length)</c>, a range inside
    /// <see cref="Length"/> that no committed state uses: faults those pages in writable with one call instead of one
    /// fault per page. It changes no byte (Linux: <c>madvise(MADV_POPULATE_WRITE)</c>, which faults as a store would
    /// without storing). Best effort: it never throws, and elsewhere, or on a kernel before 5.14, it does nothing.
    /// It may return at once and do the work on a thread of its own, until <see cref="EndPrefault"/>.
    /// </summary>
    void Prefault(long offset, long length) { }

    /// <summary>
    /// Ends every <see cref="Prefault"/> asked so far: drops what has not started and returns once nothing runs, so
    /// that no page is touched on the writer's behalf after it (a write transaction calls it before its commit
    /// makes the pages it took part of a committed state; W8). Never throws.
    /// </summary>
    void EndPrefault() { }

    /// <summary>Writes back the byte range (msync) and waits for it to be durable.</summary>
    void Flush(long offset, long length);

    /// <summary>
    /// Hands the dirty pages of the byte range to the <see cref="SyncData"/> that follows, without a device cache
    /// flush; it promises nothing by itself (S5). Linux: nothing, since fdatasync writes back every dirty page of the
    /// file, mapped ones included. macOS: msync of the range, which writes the data but does not flush the drive
    /// cache (docs/durability.md §9 A5). Windows: <c>FlushViewOfFile</c>, which FlushFileBuffers needs (§13.3).
    /// </summary>
    void StartWriteback(long offset, long length);

    /// <summary>
    /// Makes every byte written so far durable, and the file length with it, in one device flush (Linux:
    /// <c>fdatasync</c>, which writes the inode only when the size changed; elsewhere <c>fsync</c>).
    /// </summary>
    void SyncData();

    /// <summary>Makes everything written so far durable, data and file length (fsync).</summary>
    void Sync();

    /// <summary>
    /// Throws <see cref="CorruptDatabaseException"/> if the file became shorter than <see cref="Length"/> behind
    /// our back (another process ignoring the lock truncated it). Touching the map past the real end of file would
    /// raise SIGBUS, which .NET cannot catch, so writers check before they start.
    /// </summary>
    void VerifyLength();

    /// <summary>
    /// Another process sharing the database grew the file: makes <c>[Base, Base + length)</c> usable here (the
    /// base never moves, S1) and <see cref="Length"/> at least <paramref name="length"/>.
    /// </summary>
    /// <exception cref="MmapKvException">The file grew past this process's <see cref="Capacity"/> (its MaxSize).</exception>
    /// <exception cref="CorruptDatabaseException">The file is shorter than <paramref name="length"/>.</exception>
    void Cover(long length)
    {
        if (length > Length) Corrupt.Throw($"the database needs {length} bytes but the file holds {Length}");
    }

    /// <summary>
    /// <see cref="Cover"/> while the database is being opened, before any transaction exists: nothing holds a span
    /// into the map, so the storage may replace a mapping it made (the Windows backend extends a view that ends off
    /// the allocation granularity, which it cannot do later). <paramref name="isDatabase"/>: the file is known to be a
    /// database (another process validated it and built the lock file), so a read-write storage may also make the
    /// change to the file it would otherwise make at its first store.
    /// </summary>
    /// <exception cref="MmapKvException">The file grew past this process's <see cref="Capacity"/> (its MaxSize).</exception>
    /// <exception cref="CorruptDatabaseException">The file is shorter than <paramref name="length"/>.</exception>
    void CoverAtOpen(long length, bool isDatabase) => Cover(length);
}
