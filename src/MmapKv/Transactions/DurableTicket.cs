namespace MmapKv.Transactions;

/// <summary>
/// What a commit hands back to wait on: the txn id whose durability the committer needs, or nothing. A default
/// ticket (durability not needed, or nothing to wait for) completes at once without allocating; a ticket whose
/// commit is already durable also returns at once.
/// </summary>
internal readonly struct DurableTicket
{
    private readonly CommitPipeline? _pipeline; // null: nothing to wait for
    private readonly long _txnId;

    public DurableTicket(CommitPipeline pipeline, long txnId)
    {
        _pipeline = pipeline;
        _txnId = txnId;
    }

    /// <summary>Returns once the commit is durable, flushing on this thread if needed (group commit: one flush
    /// covers every commit queued before it).</summary>
    /// <exception cref="StorageFailedException">The flush failed (D2).</exception>
    public void Wait() => _pipeline?.WaitDurable(_txnId);

    /// <summary>Completes once the commit is durable; the flush runs on the pipeline's flusher thread, never on a
    /// thread-pool thread. Cancelling stops only the wait.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) =>
        _pipeline is null ? Task.CompletedTask : _pipeline.WaitDurableAsync(_txnId, cancellationToken);
}
