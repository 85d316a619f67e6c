using System.Diagnostics;

namespace MmapKv.Diagnostics;

/// <summary>
/// When each recent commit was published, by txn id, so that the flush that makes it durable can tell how long
/// it waited (<c>mmapkv.commit.duration</c>). Written by the committer under the writer lock, read by whichever
/// thread flushes; no lock and no allocation.
/// </summary>
/// <remarks>
/// Txn ids of published commits are consecutive (one writer, each commit is its base + 1), so a ring indexed by
/// the low bits of the id holds the newest <see cref="Capacity"/> of them. Each entry is one 64-bit word, the
/// microseconds since this object was made in the high <c>64 - TxnBits</c> bits and the id's low
/// <see cref="TxnBits"/> bits below, so a reader sees a whole entry or none and can tell whose it is: an entry
/// overwritten by a commit <see cref="Capacity"/> ids newer is refused, not misread.
/// </remarks>
internal sealed class CommitStamps
{
    /// <summary>Commits remembered; a flush covering more gets the times of the newest this many only.</summary>
    public const int Capacity = 4096;
    private const int TxnBits = 20;                    // > log2(Capacity): tells apart 256 laps of the ring
    private const long TxnMask = (1L << TxnBits) - 1;
    private const long MicrosMask = (1L << (64 - TxnBits)) - 1; // 2^44 µs: 203 days, the longest wait measured

    private readonly long[] _entries = new long[Capacity];
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <summary>Records that <paramref name="txnId"/> was published now.</summary>
    public void Published(long txnId) =>
        Volatile.Write(ref _entries[txnId & (Capacity - 1)], (Micros(Stopwatch.GetTimestamp()) << TxnBits) | (txnId & TxnMask));

    /// <summary>How long ago, as of <paramref name="now"/> (a <see cref="Stopwatch"/> timestamp), <paramref name="txnId"/>
    /// was published; false if the ring no longer holds it.</summary>
    public bool TryGetAge(long txnId, long now, out double seconds)
    {
        long entry = Volatile.Read(ref _entries[txnId & (Capacity - 1)]);
        if (entry == 0 || (entry & TxnMask) != (txnId & TxnMask))
        {
            seconds = 0;
            return false;
        }
        long micros = (Micros(now) - (entry >>> TxnBits)) & MicrosMask;
        seconds = micros / 1e6;
        return true;
    }

    private long Micros(long timestamp) => (Stopwatch.GetElapsedTime(_origin, timestamp).Ticks / 10) & MicrosMask;
}
