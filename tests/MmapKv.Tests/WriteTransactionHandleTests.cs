using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// <see cref="WriteTransaction"/> is a handle to state the database reuses (invariant L5): every write transaction
/// is one generation of the same object, and a handle, tree or savepoint of an ended generation can neither act nor
/// disturb the transaction that owns the state now.
/// </summary>
public class WriteTransactionHandleTests
{
    [Fact]
    public void ConsecutiveTransactions_ShareOneState_AndCopiesAreTheSameTransaction()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var first = db.BeginWrite();
        var copy = first;
        copy.Put("a"u8, "1"u8);
        Assert.True(first.TryGet("a"u8, out _)); // the copy wrote into the same transaction
        copy.Dispose(); // ends it for every copy
        Assert.Throws<ObjectDisposedException>(() => first.Put("b"u8, "2"u8));
        first.Dispose(); // harmless

        using var second = db.BeginWrite();
        Assert.Same(first.RawState, second.RawState);
        Assert.NotNull(second.RawState);
        Assert.Equal(first.TxnId, second.TxnId); // the first never committed: the second gets its id
        Assert.False(second.TryGet("a"u8, out _));
    }

    [Fact]
    public void DefaultHandle_WasNeverBegun()
    {
        WriteTransaction tx = default;
        var e = Assert.Throws<InvalidOperationException>(() => tx.Put("a"u8, "1"u8));
        Assert.Contains("BeginWrite", e.Message);
        tx.Dispose(); // does nothing
    }

    [Fact]
    public void AbortedByAFailedWrite_SaysSo_AlsoWhileTheNextTransactionRuns()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = 1L << 20 });
        var value = new byte[60_000];
        var tx = db.BeginWrite();
        void Fill()
        {
            for (int i = 0; ; i++) tx.Put(BitConverter.GetBytes(i), value);
        }
        Assert.Throws<DatabaseFullException>(Fill);
        var aborted = Assert.Throws<InvalidOperationException>(() => tx.Put("x"u8, "1"u8));
        Assert.Contains("aborted because a write in it failed", aborted.Message);

        // The writer lock was released at the failure: the next transaction begins at once, on the same state.
        using var next = db.BeginWrite(TimeSpan.FromSeconds(5));
        Assert.Same(tx.RawState, next.RawState);
        aborted = Assert.Throws<InvalidOperationException>(() => tx.Commit());
        Assert.Contains("aborted because a write in it failed", aborted.Message);
        tx.Dispose(); // must not end the next transaction
        next.Put("kept"u8, "1"u8);
        next.Commit();

        using var read = db.BeginRead();
        Assert.True(read.TryGet("kept"u8, out _));
        Assert.False(read.TryGet(BitConverter.GetBytes(0), out _)); // nothing of the aborted transaction
    }

    [Fact]
    public void SavepointOfAnEndedTransaction_IsRefusedByTheNext()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        Savepoint old;
        using (var first = db.BeginWrite())
        {
            first.Put("a"u8, "1"u8);
            old = first.CreateSavepoint();
            first.Commit();
        }
        using var second = db.BeginWrite();
        second.Put("b"u8, "2"u8);
        var e = Assert.Throws<InvalidOperationException>(() => second.RollbackTo(old));
        Assert.Contains("another transaction", e.Message);
        Assert.True(second.TryGet("b"u8, out _)); // the refused rollback changed nothing
        second.Commit();
    }

    [Fact]
    public async Task Handle_CrossesAnAwait_AndEndsOnAnotherThread()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = await db.BeginWriteAsync();
        tx.Put("a"u8, "1"u8);
        await Task.Yield();
        await Task.Run(() => tx.Put("b"u8, "2"u8));
        await tx.CommitAsync();
        Assert.Throws<ObjectDisposedException>(() => tx.Put("c"u8, "3"u8));
        using var read = db.BeginRead();
        Assert.True(read.TryGet("a"u8, out _));
        Assert.True(read.TryGet("b"u8, out _));
    }
}
