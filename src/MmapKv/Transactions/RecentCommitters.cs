using System.Diagnostics;

namespace MmapKv.Transactions;

/// <summary>
/// How many threads have waited for a durable commit lately: what group commit's gathering step expects a flush to
/// cover (<see cref="CommitPipeline"/>). A thread that waits for its commit, is released by a flush and commits
/// again is invisible between the two (it is in neither the writer lock nor a wait); this remembers it for a few
/// flush times, so the next leader can wait for its commit instead of flushing without it.
/// </summary>
/// <remarks>
/// A small table of (thread, last wait) pairs, guarded by the caller's lock (the pipeline's gate). It only steers a
/// bounded wait: a wrong count costs at most that wait, or a smaller batch, never correctness.
/// </remarks>
internal sealed class RecentCommitters
{
    /// <summary>Threads tracked; more concurrent committers than this are counted as this many.</summary>
    public const int Capacity = 16;

    private readonly int[] _threads = new int[Capacity];
    private readonly long[] _seen = new long[Capacity];

    /// <summary>Records that the current thread waits for a durable commit now. Caller holds the gate.</summary>
    public void Note(long now)
    {
        int thread = Environment.CurrentManagedThreadId, oldest = 0;
        for (int i = 0; i < Capacity; i++)
        {
            if (_threads[i] == thread)
            {
                _seen[i] = now;
                return;
            }
            if (_seen[i] < _seen[oldest]) oldest = i;
        }
        _threads[oldest] = thread;
        _seen[oldest] = now;
    }

    /// <summary>Threads that waited for a durable commit at or after <paramref name="since"/>. Caller holds the gate.</summary>
    public int CountSince(long since)
    {
        int count = 0;
        for (int i = 0; i < Capacity; i++)
            if (_threads[i] != 0 && _seen[i] >= since) count++;
        return count;
    }

    /// <summary>The window a committer is remembered for: four flushes, and at least a millisecond.</summary>
    public static long Window(long flushTicks) => Math.Max(4 * flushTicks, Stopwatch.Frequency / 1000);
}
