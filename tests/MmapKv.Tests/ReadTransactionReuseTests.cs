using System.Runtime.CompilerServices;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// A read transaction is a handle over a state object that the next read transaction on the same reader slot
/// reuses, so that beginning and ending one allocates nothing. Reuse must not weaken misuse detection: a handle,
/// cursor or tree of a transaction that has ended throws <see cref="ObjectDisposedException"/> even after its state
/// object serves another transaction, and never reads that transaction's snapshot (invariant L5).
/// </summary>
public class ReadTransactionReuseTests
{
    private static readonly byte[] Key = "key"u8.ToArray();

    /// <summary>One user slot: every read transaction gets the same state object, so reuse is certain.</summary>
    private static KvDatabase OneSlot(TempDir dir, KvOptions? options = null)
    {
        var db = KvDatabase.Open(dir.File(), (options ?? new KvOptions()) with { MaxReaders = 1 });
        Put(db, Key, "old");
        using var w = db.BeginWrite();
        w.OpenTree("named").Put(Key, "named-old"u8);
        w.Commit();
        return db;
    }

    private static void Put(KvDatabase db, byte[] key, string value)
    {
        using var w = db.BeginWrite();
        w.Put(key, Bytes.Of(value));
        w.Commit();
    }

    private static string Read(ReadTransaction tx) => tx.TryGet(Key, out var v) ? Bytes.Str(v) : "<missing>";

    [Fact]
    public void Handle_AfterDispose_ThrowsObjectDisposed_WhileItsStateServesTheNextTransaction()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        var stale = db.BeginRead();
        var copy = stale; // a copy of a handle is the same transaction
        long staleTxn = stale.TxnId;
        stale.Dispose();
        Put(db, Key, "new");

        using var current = db.BeginRead();
        Assert.Same(stale.RawState, current.RawState); // the state object was reused
        Assert.Equal("new", Read(current));
        foreach (var handle in new[] { stale, copy })
        {
            Assert.Throws<ObjectDisposedException>(() => handle.TryGet(Key, out _));
            Assert.Throws<ObjectDisposedException>(() => handle.OpenCursor());
            Assert.Throws<ObjectDisposedException>(() => handle.OpenTree("named"));
            Assert.Throws<ObjectDisposedException>(() => handle.TryOpenTree("named", out _));
            Assert.Throws<ObjectDisposedException>(() => handle.GetTreeNames());
            Assert.Equal(staleTxn, handle.TxnId); // kept in the handle: not the current transaction's id
        }
        Assert.True(current.TxnId > staleTxn);
        // The stale holder's failed calls left the current transaction untouched.
        Assert.Equal("new", Read(current));
    }

    [Fact]
    public void StaleDispose_OfAnEndedTransaction_DoesNotEndTheTransactionThatReusedItsState()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        var first = db.BeginRead();
        var copy = first;
        first.Dispose();
        using var second = db.BeginRead();
        Assert.Same(first.RawState, second.RawState);
        first.Dispose(); // a second Dispose: harmless
        copy.Dispose();  // and through a copy
        Assert.Equal("old", Read(second));
        Assert.Equal(1, db.GetStats().ActiveReaders);
        Assert.Throws<ReaderSlotsFullException>(() => db.BeginRead()); // the one slot is still held by `second`
    }

    [Fact]
    public void CursorAndTree_OfAnEndedTransaction_ThrowObjectDisposed_AfterTheStateWasReused()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        var stale = db.BeginRead();
        var cursor = stale.OpenCursor();
        Assert.True(cursor.First());
        var tree = stale.OpenTree("named");
        var treeCursor = tree.OpenCursor();
        Assert.True(treeCursor.First());
        stale.Dispose();
        Put(db, Key, "new");

        using var current = db.BeginRead();
        Assert.Same(stale.RawState, current.RawState);
        using var currentCursor = current.OpenCursor();
        Assert.True(currentCursor.First());

        foreach (var c in new[] { cursor, treeCursor })
        {
            Assert.False(c.IsPositioned);
            Assert.Throws<ObjectDisposedException>(() => c.First());
            Assert.Throws<ObjectDisposedException>(() => c.Last());
            Assert.Throws<ObjectDisposedException>(() => c.Next());
            Assert.Throws<ObjectDisposedException>(() => c.Prev());
            Assert.Throws<ObjectDisposedException>(() => c.Seek(Key));
            Assert.Throws<ObjectDisposedException>(() => c.Key.Length);
            Assert.Throws<ObjectDisposedException>(() => c.Value.Length);
        }
        Assert.Throws<ObjectDisposedException>(() => tree.TryGet(Key, out _));
        Assert.Throws<ObjectDisposedException>(() => tree.Count);
        Assert.Throws<ObjectDisposedException>(() => tree.OpenCursor());

        // The current transaction's own cursor and trees work, and see the new snapshot.
        Assert.True(currentCursor.IsPositioned);
        Assert.Equal("new", Bytes.Str(currentCursor.Value));
        Assert.True(current.OpenTree("named").TryGet(Key, out var nv));
        Assert.Equal("named-old", Bytes.Str(nv));
    }

    [Fact]
    public void StaleHolderOnAnotherThread_NeverReadsTheSnapshotOfTheTransactionThatReusedItsState()
    {
        // Thread A keeps a disposed handle (and its cursor) and keeps calling them while thread B begins, reads
        // and ends transactions on the same state object, and a writer commits new values. A may only ever see
        // ObjectDisposedException; B must never see an error (A's failed calls change nothing), and B always reads
        // a value committed at or before its snapshot.
        using var dir = new TempDir();
        using var db = OneSlot(dir);
        var stale = db.BeginRead();
        var staleCursor = stale.OpenCursor();
        var state = stale.RawState;
        stale.Dispose();

        var committed = new System.Collections.Concurrent.ConcurrentDictionary<long, string>();
        committed[db.LastTxnId] = "old";
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int staleCalls = 0, staleWrong = 0, reads = 0;
        Exception? readerError = null;
        var holder = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    stale.TryGet(Key, out _);
                    Interlocked.Increment(ref staleWrong); // it returned: found or not, it read a snapshot
                }
                catch (ObjectDisposedException) { }
                try
                {
                    staleCursor.First();
                    Interlocked.Increment(ref staleWrong);
                }
                catch (ObjectDisposedException) { }
                Interlocked.Increment(ref staleCalls);
            }
        });
        var reader = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
                {
                    using var tx = db.BeginRead();
                    Assert.Same(state, tx.RawState);
                    string seen = Read(tx);
                    // The writer records each value before committing it, so the snapshot's value is known.
                    Assert.Equal(committed[tx.TxnId], seen);
                    Interlocked.Increment(ref reads);
                }
            }
            catch (Exception e) { readerError = e; }
            finally { stop.Cancel(); }
        });
        holder.Start();
        reader.Start();
        for (int round = 0; !stop.IsCancellationRequested && round < 2000; round++)
        {
            using var w = db.BeginWrite();
            string value = $"v{round}";
            committed[w.TxnId] = value;
            w.Put(Key, Bytes.Of(value));
            w.Commit(Durability.Deferred);
        }
        reader.Join();
        holder.Join();
        Assert.Null(readerError);
        Assert.Equal(0, staleWrong);
        Assert.True(staleCalls > 0 && reads > 0, $"{staleCalls} stale calls, {reads} reads");
        Assert.Equal(0, db.GetStats().ActiveReaders);
    }

    [Fact]
    public void DefaultHandle_ThrowsInvalidOperation_AndItsDisposeDoesNothing()
    {
        var none = default(ReadTransaction);
        var e = Assert.Throws<InvalidOperationException>(() => none.TryGet(Key, out _));
        Assert.Contains("BeginRead", e.Message);
        Assert.Throws<InvalidOperationException>(() => none.OpenCursor());
        none.Dispose();
    }

    [Fact]
    public void BeginTryGetDispose_AllocatesNothing_WithAndWithoutChecksumVerification()
    {
        foreach (bool verify in new[] { false, true })
        {
            using var dir = new TempDir();
            using var db = KvDatabase.Open(dir.File(), new KvOptions { VerifyChecksums = verify });
            Put(db, Key, "value");
            long sum = 0;
            void Work()
            {
                for (int i = 0; i < 1000; i++)
                {
                    using var tx = db.BeginRead();
                    if (tx.TryGet(Key, out var v)) sum += v.Length;
                }
            }
            Work(); // warm up: JIT, and the slot's state object
            Work();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Work();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(3 * 1000 * 5, sum);
            Assert.True(allocated == 0, $"VerifyChecksums = {verify}: {allocated} bytes for 1,000 read transactions");
        }
    }

    [Fact]
    public void ReusedState_WithVerifyChecksums_VerifiesTheNewSnapshotAfresh()
    {
        // A reused state clears its set of verified pages: a page verified by one transaction and damaged before the
        // next is caught by the next (the damage here is made through the map, as a torn write would).
        using var dir = new TempDir();
        using var db = OneSlot(dir, new KvOptions { VerifyChecksums = true });
        using (var tx = db.BeginRead()) Assert.Equal("old", Read(tx));
        long root;
        using (var tx = db.BeginRead()) root = tx.MainTree.Desc.Root;
        unsafe
        {
            byte* page = db.Storage.Base + root * db.PageSize;
            page[db.PageSize - 1] ^= 0xFF; // the last byte of the leaf's heap: the value
        }
        using (var tx = db.BeginRead())
            Assert.Throws<CorruptDatabaseException>(() => tx.TryGet(Key, out _));
    }

    /// <summary>Begins a transaction and drops it (no Dispose); a cursor opened in it is handed back.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KvCursor LeakKeepingCursor(KvDatabase db)
    {
        var tx = db.BeginRead();
        return tx.OpenCursor();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Leak(KvDatabase db) => db.BeginRead().TryGet(Key, out _);

    [Fact]
    public void LeakedHandle_IsReclaimed_AndItsSlotServesNewTransactions()
    {
        using var dir = new TempDir();
        using var db = OneSlot(dir, new KvOptions { LeakedReaderGracePeriod = TimeSpan.FromMilliseconds(50) });
        Leak(db);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var leaked = Assert.Single(db.GetStats().Readers);
        Assert.True(leaked.Abandoned); // the state's finalizer ran: nothing but the dropped handle referenced it
        Thread.Sleep(80);
        // The one slot is held by the leak until the grace period passed; a full table reclaims it.
        using (var tx = db.BeginRead()) Assert.Equal("old", Read(tx));
        Assert.Equal(0, db.GetStats().ActiveReaders);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void LeakedHandle_WithALiveCursor_IsNotAbandoned()
    {
        // A cursor references the transaction's state, so a transaction whose handle was dropped but whose cursor
        // is still in use keeps protecting its snapshot: the finalizer cannot run.
        using var dir = new TempDir();
        using var db = OneSlot(dir, new KvOptions { LeakedReaderGracePeriod = TimeSpan.Zero });
        var cursor = LeakKeepingCursor(db);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(Assert.Single(db.GetStats().Readers).Abandoned);
        Put(db, Key, "new"); // a writer's start reclaims abandoned slots: this one must survive it
        Assert.True(cursor.First());
        Assert.Equal("old", Bytes.Str(cursor.Value));
        Assert.Equal(1, db.GetStats().ActiveReaders);
        GC.KeepAlive(cursor);
    }

    [Fact]
    public void ConcurrentBeginAndDispose_FromManyThreads_KeepsEverySnapshotAndDetectsEveryStaleHandle()
    {
        // Eight threads through four slots: states move between threads all the time. Each thread checks that
        // its transaction reads the value committed at its snapshot, that the handle it disposed last round
        // throws ObjectDisposedException (its state now serves someone else), and that slots all come back.
        const int threads = 8, rounds = 4000;
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxReaders = threads });
        var committed = new System.Collections.Concurrent.ConcurrentDictionary<long, string>();
        Put(db, Key, "v-1");
        committed[db.LastTxnId] = "v-1";
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var done = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            for (int round = 0; !done.IsCancellationRequested; round++)
            {
                using var w = db.BeginWrite();
                committed[w.TxnId] = $"v{round}";
                w.Put(Key, Bytes.Of($"v{round}"));
                w.Commit(Durability.Deferred);
                Thread.Yield();
            }
        });
        writer.Start();
        var readers = Enumerable.Range(0, threads).Select(n => new Thread(() =>
        {
            try
            {
                ReadTransaction previous = default;
                KvCursor? previousCursor = null;
                for (int i = 0; i < rounds; i++)
                {
                    using var tx = db.BeginRead();
                    Assert.Equal(committed[tx.TxnId], Read(tx));
                    if (previousCursor is not null) // the last round's transaction, disposed at the end of its round
                    {
                        var p = previous;
                        Assert.Throws<ObjectDisposedException>(() => p.TryGet(Key, out _));
                        Assert.Throws<ObjectDisposedException>(() => previousCursor.First());
                    }
                    var cursor = tx.OpenCursor();
                    Assert.True(cursor.First());
                    previous = tx;
                    previousCursor = cursor;
                }
            }
            catch (Exception e) { errors.Enqueue(e); }
        })).ToArray();
        foreach (var t in readers) t.Start();
        foreach (var t in readers) t.Join();
        done.Cancel();
        writer.Join();
        Assert.True(errors.IsEmpty, errors.FirstOrDefault()?.ToString());
        var stats = db.GetStats();
        Assert.Equal(0, stats.ActiveReaders);
        Assert.True(db.Check().IsValid);
    }
}
