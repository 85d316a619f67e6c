namespace MmapKv.Format;

/// <summary>
/// Offsets of the lock file <c>&lt;database&gt;-lock</c> (docs/format.md §12). All fields are little-endian and
/// 8-byte aligned, so that each can be read and written atomically by any process that maps the file.
/// </summary>
internal static class LockFileLayout
{
    /// <summary>"MmapKvLk" as a little-endian u64.</summary>
    public const ulong Magic = 0x6B4C_764B_7061_6D4D;

    /// <summary>
    /// The version this code writes and accepts (3: the database format is 5, so processes of a version 4 build,
    /// which would refuse the meta records they find here, never share a file with this one, §12.5; 2: readers hold
    /// snapshot locks, §12.4).
    /// </summary>
    public const uint FileVersion = 3;

    /// <summary>Bytes of the header before the first reader slot.</summary>
    public const int HeaderSize = 4096;

    // Header fields (offsets in bytes).
    public const int MagicOffset = 0;           // u64
    public const int VersionOffset = 8;         // u32
    public const int SlotCountOffset = 12;      // u32: reader slots in all
    public const int PageSizeOffset = 16;       // u32: the database's page size
    public const int SlotSizeOffset = 20;       // u32: SlotSize
    public const int BootIdOffset = 24;         // 16 bytes: the boot the content belongs to (zero: unknown)
    public const int LatestTxnOffset = 64;      // i64: the newest published commit (the publication point)
    public const int DurableOffset = 72;        // i64: durable txn id × 2 + the meta slot holding it
    public const int HighWaterOffset = 80;      // i64: reader slots at or above it have never been claimed
    public const int FlushedOffset = 88;        // i64: the newest meta record any flush has taken (rule R2b)
    public const int MetaCopyOffset = 128;      // two meta records, at MetaCopyOffset + (txn mod 2) × MetaCopySize
    public const int MetaCopySize = 512;

    // Byte offsets the OS locks are taken on (advisory: they say nothing about the bytes there).
    public const long OpenLock = 0;             // shared by every opener; exclusive while the file is rebuilt
    public const long WriterLock = 1;           // exclusive: the one write transaction across processes
    public const long FlushLock = 2;            // exclusive: one flush at a time across processes

    /// <summary>
    /// Opener locks: opener <c>i</c> (one per open of the lock file, at most <see cref="MaxOpeners"/>) holds byte
    /// <c>OpenerLockBase + i</c> exclusively for as long as it has the database open, and its reader slots name
    /// <c>i</c>. The kernel releases the lock when the opener dies, so another process that can take it knows the
    /// opener's slots are stale: no pid, no start time, no PID-namespace or emulator pitfalls (invariant L7).
    /// </summary>
    public const long OpenerLockBase = 1L << 20;
    public const int MaxOpeners = 4096;

    /// <summary>
    /// Snapshot locks (docs/format.md §12.4): an opener whose readers use a snapshot holds byte
    /// <c>SnapshotLockBase + d</c> shared, where <c>d</c> is the first page of that snapshot's free-map directory run.
    /// A writer learns from the kernel which snapshots other processes read, so nothing written into the reader slots
    /// can make it reuse a page such a reader may reach (invariant L8).
    /// </summary>
    public const long SnapshotLockBase = 1L << 32;

    /// <summary>
    /// Page ids a snapshot lock may name: below 2^40 (4 EiB of 4 KiB pages), so every lock offset stays far below the
    /// 2^62 at which the Windows backend starts its locks.
    /// </summary>
    public const long MaxSnapshotLockPages = 1L << 40;

    /// <summary>Bytes of one reader slot: one cache line.</summary>
    public const int SlotSize = 64;

    // Reader slot fields, as indexes of 8-byte words.
    public const int OwnerField = 0;            // 0 free, -1 being reclaimed, else pid × 2^32 + claim number
    public const int TxnField = 1;              // 0 none, else snapshot txn id + 1
    public const int StartedField = 2;          // Stopwatch timestamp of the claim (one clock for the machine)
    public const int OpenerField = 3;           // the owner's opener index + 1 (0 while the claim is written)
    // Words 4 to 7: reserved, zero (version 1 described the snapshot's free map there; docs/format.md §12.3).
    public const int WordsPerSlot = SlotSize / 8;

    /// <summary>Owner value of a slot a reclaimer is freeing.</summary>
    public const long Reclaiming = -1;

    /// <summary>Length of a lock file with <paramref name="slots"/> reader slots.</summary>
    public static long FileLength(int slots) => HeaderSize + (long)slots * SlotSize;
}
