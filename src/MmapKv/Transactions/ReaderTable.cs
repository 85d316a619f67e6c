namespace MmapKv.Transactions;

/// <summary>
/// Lock-free registry of open read transactions and the snapshot each one sees. The writer reads it to find the
/// oldest snapshot still in use (reuse rule R1 in PageAllocator).
/// </summary>
/// <remarks>
/// Protocol: a reader claims a slot, stores its snapshot id, then re-reads the published snapshot; if a commit
/// slipped in between, it moves to the newer snapshot and checks again. Both the store and the writer's scan are
/// full fences, so when the writer's scan misses a reader, that reader's re-check sees the writer's newer commit
/// and the reader never uses a snapshot the writer considered unprotected.
/// </remarks>
internal sealed class ReaderTable
{
    private const int Stride = 8; // one 64-byte cache line per slot, so readers on different cores don't share lines
    private readonly long[] _slots; // 0 = free, otherwise snapshot txn id + 1
    private readonly int _capacity;
    private int _highWater;         // slots at or above this index have never been used

    public ReaderTable(int capacity)
    {
        _capacity = capacity;
        _slots = new long[capacity * Stride];
    }

    /// <summary>Registers a reader of the snapshot <paramref name="current"/> returns, and gives back that snapshot.</summary>
    public int Acquire(Func<Snapshot> current, out Snapshot snapshot)
    {
        snapshot = current();
        int start = (Environment.CurrentManagedThreadId * 7) % _capacity;
        for (int n = 0; n < _capacity; n++)
        {
            int slot = (start + n) % _capacity;
            if (Interlocked.CompareExchange(ref _slots[slot * Stride], snapshot.TxnId + 1, 0) != 0) continue;
            int hw;
            while ((hw = Volatile.Read(ref _highWater)) <= slot && Interlocked.CompareExchange(ref _highWater, slot + 1, hw) != hw) { }
            while (true)
            {
                var latest = current();
                if (latest.TxnId == snapshot.TxnId) return slot;
                snapshot = latest;
                Interlocked.Exchange(ref _slots[slot * Stride], snapshot.TxnId + 1);
            }
        }
        throw new MmapKvException($"All {_capacity} reader slots are in use; raise KvOptions.MaxReaders or end read transactions sooner.");
    }

    public void Release(int slot) => Volatile.Write(ref _slots[slot * Stride], 0);

    /// <summary>The oldest snapshot id any reader holds, or <see cref="long.MaxValue"/> when there are none.</summary>
    public long OldestSnapshot()
    {
        Interlocked.MemoryBarrier(); // order the writer's last publish before these loads (see remarks)
        long oldest = long.MaxValue;
        int hw = Volatile.Read(ref _highWater);
        for (int i = 0; i < hw; i++)
        {
            long v = Volatile.Read(ref _slots[i * Stride]);
            if (v != 0 && v - 1 < oldest) oldest = v - 1;
        }
        return oldest;
    }

    /// <summary>Open read transactions, for statistics.</summary>
    public int Count()
    {
        int n = 0, hw = Volatile.Read(ref _highWater);
        for (int i = 0; i < hw; i++) if (Volatile.Read(ref _slots[i * Stride]) != 0) n++;
        return n;
    }
}
