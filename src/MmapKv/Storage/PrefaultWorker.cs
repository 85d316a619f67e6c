namespace MmapKv.Storage;

/// <summary>
/// Runs a storage's tail prefault on a thread of its own, so that the writer's thread stores into pages this thread
/// has faulted in already instead of taking each fault itself (W8, docs/durability.md §5.1). A request names a byte
/// range; the worker faults it in a chunk at a time. A request that overlaps or continues the pending range extends
/// it; any other replaces it (advice: the newest range is the one the writer is about to use).
/// </summary>
/// <remarks>
/// The worker changes no byte (<see cref="IStorage.Prefault"/>'s contract). What it must never do is touch a page
/// after the writer stopped asking, since by then that page may belong to a committed state: <see cref="End"/> drops
/// every pending chunk and waits for the one in progress, and the write transaction calls it before it publishes
/// (W8). The mapping must also stay in place while a chunk runs: <see cref="Dispose"/> stops the worker the same way
/// and its owner unmaps only after it. The thread starts at the first request and ends after
/// <see cref="IdleMilliseconds"/> without one.
/// </remarks>
internal sealed class PrefaultWorker : IDisposable
{
    /// <summary>Bytes faulted in per call: a chunk is short, so <see cref="End"/> waits at most one chunk's faults.</summary>
    internal const long ChunkBytes = 64 * 4096;

    /// <summary>How long the thread waits for a request before it ends (a later request starts another).</summary>
    internal const int IdleMilliseconds = 1000;

    private readonly Action<long, long> _populate;
    private readonly object _gate = new();
    private long _from, _to;      // the pending range, [from, to); empty when from >= to
    private bool _running;        // a chunk is being faulted in now, outside the gate
    private bool _stopped;
    private Thread? _thread;

    /// <param name="populate">Faults a byte range in (offset, length); called on the worker's thread only, one call at a time.</param>
    public PrefaultWorker(Action<long, long> populate) => _populate = populate;

    /// <summary>Asks for <c>[offset, offset + length)</c> to be faulted in, and returns at once.</summary>
    public void Request(long offset, long length)
    {
        if (length <= 0) return;
        lock (_gate)
        {
            if (_stopped) return;
            long end = offset + length;
            if (_from < _to && offset <= _to && end >= _from)
            {
                _to = Math.Max(_to, end); // the part already taken is not asked again
            }
            else
            {
                _from = offset;
                _to = end;
            }
            if (_thread is null)
            {
                try
                {
                    _thread = new Thread(Run) { IsBackground = true, Name = "MmapKv prefault" };
                    _thread.Start();
                }
                catch (OutOfMemoryException)
                {
                    // No thread to be had: the advice is dropped, and the writer's stores fault the pages themselves.
                    _thread = null;
                    _from = _to = 0;
                }
            }
            else Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Drops every pending request and returns once no chunk is being faulted in: from then on the worker touches no
    /// page until the next <see cref="Request"/>.
    /// </summary>
    public void End()
    {
        lock (_gate)
        {
            _from = _to = 0;
            Monitor.PulseAll(_gate); // an idle thread wakes, and after Dispose ends
            while (_running) Monitor.Wait(_gate);
        }
    }

    private void Run()
    {
        while (true)
        {
            long from, length;
            lock (_gate)
            {
                _running = false;
                Monitor.PulseAll(_gate); // End and Dispose wait for the chunk that just ended
                while (_from >= _to && !_stopped)
                {
                    if (!Monitor.Wait(_gate, IdleMilliseconds) && _from >= _to)
                    {
                        _thread = null; // idle: the next request starts another thread
                        return;
                    }
                }
                if (_stopped) return;
                from = _from;
                length = Math.Min(ChunkBytes, _to - _from);
                _from += length;
                _running = true;
            }
            _populate(from, length);
        }
    }

    /// <summary>Stops the worker as <see cref="End"/> does, for good: later requests are ignored.</summary>
    public void Dispose()
    {
        lock (_gate) _stopped = true;
        End();
    }
}
