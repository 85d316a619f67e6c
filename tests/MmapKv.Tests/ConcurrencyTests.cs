using System.Buffers.Binary;
using Xunit;

namespace MmapKv.Tests;

public class ConcurrencyTests
{
    private const int Accounts = 300;
    private const long Initial = 1000;

    private static byte[] AccountKey(int i) => Bytes.Of($"acct:{i:D5}");

    /// <summary>
    /// A writer moves money between accounts in continuous commits while readers verify, on their own snapshots,
    /// that the total never changes and that a second pass over the same snapshot sees exactly the same balances.
    /// </summary>
    [Fact]
    public async Task Readers_SeeStableConsistentSnapshots_WhileWriterCommits()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { Durability = Durability.Deferred });
        using (var tx = db.BeginWrite())
        {
            Span<byte> v = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(v, Initial);
            for (int i = 0; i < Accounts; i++) tx.Put(AccountKey(i), v);
            tx.Commit();
        }
        // The run lasts until enough commits and snapshots have interleaved, not for a fixed time: under Wine or a loaded
        // machine a fixed window can be too short. The cap only turns a stall into a failure.
        const int MinCommits = 200, MinSnapshots = 20;
        using var stop = new CancellationTokenSource();
        long commits = 0, snapshotsChecked = 0;
        var writer = Task.Run(() =>
        {
            var rng = new Random(7);
            Span<byte> buf = stackalloc byte[8];
            while (!stop.IsCancellationRequested)
            {
                using var tx = db.BeginWrite();
                for (int t = 0; t < 10; t++)
                {
                    int a = rng.Next(Accounts), b = rng.Next(Accounts);
                    long amount = rng.Next(1, 50);
                    Assert.True(tx.TryGet(AccountKey(a), out var va));
                    long balA = BinaryPrimitives.ReadInt64LittleEndian(va);
                    Assert.True(tx.TryGet(AccountKey(b), out var vb));
                    long balB = BinaryPrimitives.ReadInt64LittleEndian(vb);
                    if (a == b) continue;
                    BinaryPrimitives.WriteInt64LittleEndian(buf, balA - amount);
                    tx.Put(AccountKey(a), buf);
                    BinaryPrimitives.WriteInt64LittleEndian(buf, balB + amount);
                    tx.Put(AccountKey(b), buf);
                }
                // Pad some accounts with values that churn pages (splits and merges) without changing balances.
                tx.Put(Bytes.Of($"pad:{rng.Next(500):D4}"), new byte[rng.Next(0, 3000)]);
                if (rng.Next(4) == 0) tx.Delete(Bytes.Of($"pad:{rng.Next(500):D4}"));
                tx.Commit(rng.Next(10) == 0 ? Durability.Immediate : Durability.Deferred);
                Interlocked.Increment(ref commits);
            }
        });
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var tx = db.BeginRead();
                long sum = 0;
                var first = new long[Accounts];
                using (var c = tx.OpenCursor())
                {
                    int i = 0;
                    for (bool ok = c.Seek(Bytes.Of("acct:")); ok && c.Key.StartsWith("acct:"u8); ok = c.Next())
                    {
                        first[i] = BinaryPrimitives.ReadInt64LittleEndian(c.Value);
                        sum += first[i++];
                    }
                    Assert.Equal(Accounts, i);
                }
                Assert.Equal(Accounts * Initial, sum);
                Thread.Sleep(1); // let commits land between the two passes
                for (int i = 0; i < Accounts; i++)
                {
                    Assert.True(tx.TryGet(AccountKey(i), out var v));
                    Assert.Equal(first[i], BinaryPrimitives.ReadInt64LittleEndian(v));
                }
                Interlocked.Increment(ref snapshotsChecked);
            }
        })).ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((Interlocked.Read(ref commits) < MinCommits || Interlocked.Read(ref snapshotsChecked) < MinSnapshots)
               && DateTime.UtcNow < deadline && !readers.Append(writer).Any(t => t.IsCompleted))
            await Task.Delay(50);
        stop.Cancel();
        await Task.WhenAll(readers.Append(writer));
        Assert.True(commits >= MinCommits, $"only {commits} commits in two minutes");
        Assert.True(snapshotsChecked >= MinSnapshots, $"only {snapshotsChecked} snapshots in two minutes");
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    /// <summary>Transactions are not bound to a thread: they can be started, used and ended on different threads.</summary>
    [Fact]
    public async Task Transactions_MoveAcrossThreads()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var wtx = await Task.Run(() => db.BeginWrite());
        await Task.Run(() => wtx.Put("k"u8, "v"u8));
        await Task.Run(() => wtx.Commit());
        var rtx = await Task.Run(() => db.BeginRead());
        bool found = await Task.Run(() => rtx.TryGet("k"u8, out _));
        Assert.True(found);
        await Task.Run(() => rtx.Dispose());
        using var w2 = await db.BeginWriteAsync();
        w2.Put("k2"u8, "v2"u8);
        await w2.CommitAsync();
    }

    /// <summary>A second writer waits for the first; its transaction sees the first one's commit.</summary>
    [Fact]
    public async Task BeginWrite_BlocksWhileAnotherWriteIsOpen()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var first = db.BeginWrite();
        first.Put("a"u8, "1"u8);
        var second = Task.Run(() =>
        {
            using var tx = db.BeginWrite();
            Assert.True(tx.TryGet("a"u8, out var v));
            Assert.Equal("1", Bytes.Str(v));
        });
        Assert.NotSame(second, await Task.WhenAny(second, Task.Delay(300))); // the second writer waits
        first.Commit();
        Assert.Same(second, await Task.WhenAny(second, Task.Delay(5000)));
        await second;
    }

    /// <summary>BeginWriteAsync honours cancellation while it waits for the writer lock.</summary>
    [Fact]
    public async Task BeginWriteAsync_Cancelled_WhileWaiting()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var first = db.BeginWrite();
        using var cts = new CancellationTokenSource(100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await db.BeginWriteAsync(cts.Token));
    }
}
