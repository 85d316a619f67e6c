namespace MmapKv.Transactions;

/// <summary>
/// The one place that decides when commits become durable (docs/durability.md): at once for
/// <see cref="Durability.Immediate"/>; for <see cref="Durability.Deferred"/>, by the interval timer
/// (<see cref="KvOptions.DeferredFlushInterval"/>), or by the committer itself once the pending pages pass
/// <see cref="KvOptions.DeferredFlushBytes"/> (so the pages that deferred commits freed can be reused, R2), and
/// finally by the close-time flush.
/// </summary>
internal sealed class DurabilityPolicy : IDisposable
{
    private readonly CommitPipeline _pipeline;
    private readonly Durability _default;
    private readonly long _deferredFlushBytes;
    private readonly int _pageSize;
    private readonly bool _writable;
    private readonly Timer? _timer;
    private volatile bool _closing;

    /// <remarks>Starts the interval timer: create this last when opening, so a failed open leaves no timer behind.</remarks>
    public DurabilityPolicy(CommitPipeline pipeline, KvOptions options, int pageSize, bool writable)
    {
        _pipeline = pipeline;
        _default = options.Durability;
        _deferredFlushBytes = options.DeferredFlushBytes;
        _pageSize = pageSize;
        _writable = writable;
        var interval = options.DeferredFlushInterval;
        if (writable && interval > TimeSpan.Zero && interval != Timeout.InfiniteTimeSpan)
            _timer = new Timer(_ => IntervalFlush(), null, interval, interval);
    }

    /// <summary>Whether enough deferred work has piled up that the committer should flush now.</summary>
    private bool DeferredFlushDue => _pipeline.PendingPages * _pageSize >= _deferredFlushBytes;

    /// <summary>
    /// What the committer of <paramref name="txnId"/> must wait for, given the durability it asked for (null: the
    /// database's default). Called after the commit was queued, so the threshold counts its pages.
    /// </summary>
    public DurableTicket TicketFor(long txnId, Durability? requested) =>
        (requested ?? _default) == Durability.Immediate || DeferredFlushDue ? new DurableTicket(_pipeline, txnId) : default;

    /// <summary>The interval flush for deferred commits. Runs on a timer thread, so it must never throw.</summary>
    /// <remarks>It needs no reference on the database: <see cref="FlushForClose"/> waits for a running callback
    /// before the database closes the file, so the map is always there while this runs.</remarks>
    private void IntervalFlush()
    {
        if (_closing || _pipeline.DurableTxn >= _pipeline.LatestTxn || _pipeline.Poison is not null) return;
        try { _pipeline.FlushAll(); }
        catch (Exception) { /* recorded as the pipeline's poison; the next writer or Flush() reports it */ }
    }

    /// <summary>
    /// The close-time flush: stops the timer if <see cref="Dispose"/> has not (waiting for a running callback, which
    /// must not touch the pipeline after the file is closed), then makes every published commit durable. The caller has already stopped
    /// publishing, so this covers every commit that returned before close. Returns false when nothing could be
    /// flushed (read-only, or poisoned by an earlier failure, D2).
    /// </summary>
    /// <exception cref="StorageFailedException">The final flush failed.</exception>
    public bool FlushForClose()
    {
        Dispose();
        if (!_writable || _pipeline.Poison is not null) return false;
        _pipeline.FlushAll();
        return true;
    }

    /// <summary>Stops the interval timer and waits for a running callback. Idempotent.</summary>
    public void Dispose()
    {
        _closing = true;
        if (_timer is null) return;
        using var stopped = new ManualResetEvent(false);
        if (_timer.Dispose(stopped)) stopped.WaitOne();
    }
}
