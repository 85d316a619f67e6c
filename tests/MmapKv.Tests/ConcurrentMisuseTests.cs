using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Using one transaction or cursor from two threads at once is a bug in the caller. It must be reported as that
/// (<see cref="InvalidOperationException"/>), never as <see cref="CorruptDatabaseException"/>, which means the file is
/// damaged; and the racing calls must not damage the transaction (invariant L3).
/// </summary>
/// <remarks>
/// Bug pinned (issue 9): such races raised "page 4: expected a Branch page, found kind Leaf", "keys do not ascend
/// across leaves" and SemaphoreFullException, while Check() then found the file fine.
/// </remarks>
public class ConcurrentMisuseTests
{
    private const string Message = "in use by another thread";

    /// <summary>
    /// Runs <paramref name="body"/> on two threads at once, each for at least <paramref name="iterations"/> calls
    /// (with i from 0 to iterations - 1, then again), and on until the race has been seen or 20 seconds have passed:
    /// on a loaded machine one thread may otherwise finish before the other starts. Returns the exceptions raised.
    /// </summary>
    private static List<Exception> Race(int iterations, Action<int, int> body)
    {
        var errors = new List<Exception>();
        using var start = new Barrier(2);
        var deadline = Environment.TickCount64 + 20_000;
        int seen = 0;
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < iterations || (Volatile.Read(ref seen) == 0 && Environment.TickCount64 < deadline); i++)
            {
                try { body(t, i % iterations); }
                catch (Exception e)
                {
                    lock (errors) errors.Add(e);
                    Interlocked.Increment(ref seen);
                }
            }
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        return errors;
    }

    private static void AssertOnlyMisuse(List<Exception> errors)
    {
        var wrong = errors.Where(e => e is not InvalidOperationException || !e.Message.Contains(Message)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} errors other than the misuse error, first: {wrong.FirstOrDefault()}");
        Assert.NotEmpty(errors); // two cores, tens of thousands of overlapping calls: the race must be seen
    }

    [Fact]
    public void WriteTransaction_PutFromTwoThreads_ReportsMisuseAndKeepsTheTransactionIntact()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var done = new bool[2, 20_000];
        var errors = Race(20_000, (t, i) =>
        {
            tx.Put(Bytes.Of($"t{t}/{i:D6}"), Bytes.Of($"value {t}/{i} ........................................"));
            done[t, i] = true;
        });
        AssertOnlyMisuse(errors);
        // The calls that were refused changed nothing; the ones that ran are all there, and the tree is sound.
        tx.Commit();
        Assert.True(db.Check().IsValid);
        using var rtx = db.BeginRead();
        long expected = 0;
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < 20_000; i++)
            {
                Assert.Equal(done[t, i], rtx.TryGet(Bytes.Of($"t{t}/{i:D6}"), out _));
                if (done[t, i]) expected++;
            }
        Assert.Equal(expected, db.GetStats().Main.Entries);
    }

    [Fact]
    public void Cursor_MovedFromTwoThreads_ReportsMisuseNotCorruption()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite())
        {
            for (int i = 0; i < 20_000; i++) w.Put(Bytes.Of($"k{i:D6}"), Bytes.Of($"v{i}"));
            w.Commit();
        }
        using var tx = db.BeginRead();
        using var cursor = tx.OpenCursor();
        var errors = Race(200_000, (t, i) =>
        {
            if (i % 5000 == 0) { if (t == 0) cursor.First(); else cursor.Last(); }
            else if (t == 0) { if (!cursor.Next()) cursor.First(); }
            else { if (!cursor.Prev()) cursor.Last(); }
            if (cursor.IsPositioned) _ = cursor.Key.Length + cursor.Value.Length;
        });
        AssertOnlyMisuse(errors);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void WriteTransaction_CursorAndPutOnTwoThreads_ReportsMisuse()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        for (int i = 0; i < 5000; i++) tx.Put(Bytes.Of($"k{i:D6}"), Bytes.Of($"v{i}"));
        using var cursor = tx.OpenCursor();
        cursor.First();
        var errors = Race(50_000, (t, i) =>
        {
            if (t == 0) { if (!cursor.Next()) cursor.First(); }
            else if (i % 2 == 0) tx.Put(Bytes.Of($"k{i % 7000:D6}"), Bytes.Of($"w{i}"));
            else tx.Delete(Bytes.Of($"k{(i * 7) % 7000:D6}"));
        });
        AssertOnlyMisuse(errors);
        tx.Commit();
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void ReadTransaction_DisposedWhileAnotherThreadReads_ReportsMisuse()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite())
        {
            for (int i = 0; i < 1000; i++) w.Put(Bytes.Of($"k{i:D6}"), Bytes.Of($"v{i}"));
            w.Commit();
        }
        var seen = new List<Exception>();
        for (int round = 0; round < 300; round++)
        {
            var tx = db.BeginRead();
            var errors = Race(2000, (t, i) =>
            {
                if (t == 1 && i == 1000) tx.Dispose();
                else tx.TryGet(Bytes.Of($"k{i % 1000:D6}"), out _);
            });
            tx.Dispose(); // if the racing Dispose was refused, this one ends it
            // After the dispose the reads fail with ObjectDisposedException, as they should; the rest is misuse.
            seen.AddRange(errors.Where(e => e is not ObjectDisposedException));
        }
        Assert.All(seen, e => Assert.True(e is InvalidOperationException && e.Message.Contains(Message), e.ToString()));
        Assert.Equal(0, db.GetStats().ActiveReaders);
    }
}
