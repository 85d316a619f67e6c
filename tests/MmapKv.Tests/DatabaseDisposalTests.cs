using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// KvDatabase after Dispose, disposed with transactions open, and with every reader slot in use.
/// </summary>
public class DatabaseDisposalTests
{
    /// <summary>Each member of a disposed database, by name.</summary>
    private static readonly Dictionary<string, Func<KvDatabase, Task>> DatabaseMembers = new()
    {
        ["BeginRead"] = db => { db.BeginRead(); return Task.CompletedTask; },
        ["BeginWrite"] = db => { db.BeginWrite(); return Task.CompletedTask; },
        ["BeginWriteAsync"] = async db => await db.BeginWriteAsync(),
        ["Check"] = db => { db.Check(); return Task.CompletedTask; },
        ["GetStats"] = db => { db.GetStats(); return Task.CompletedTask; },
        ["Flush"] = db => { db.Flush(); return Task.CompletedTask; },
    };

    [Theory]
    [InlineData("BeginRead")]
    [InlineData("BeginWrite")]
    [InlineData("BeginWriteAsync")]
    [InlineData("Check")]
    [InlineData("GetStats")]
    [InlineData("Flush")]
    public async Task Database_AfterDispose_ThrowsObjectDisposed(string member)
    {
        using var dir = new TempDir();
        var db = KvDatabase.Open(dir.File());
        db.Dispose();
        db.Dispose(); // idempotent
        await Assert.ThrowsAsync<ObjectDisposedException>(() => DatabaseMembers[member](db));
        // The file is closed and unlocked.
        using var again = KvDatabase.Open(dir.File());
    }

    [Fact]
    public void Database_DisposedWhileTransactionsOpen_ReleasesTheLockAndFailsTheirNextUse()
    {
        // Bug pinned (issue 9): Dispose with transactions open kept the file locked until the last one ended, so
        // a reopen in the same process said "open in another process", and a leaked reader kept it so for ever.
        using var dir = new TempDir();
        var db = KvDatabase.Open(dir.File());
        var big = Value(1, 50_000);
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 500; i++) tx.Put(Key(i), Bytes.Of($"v{i}"));
            tx.Put("big"u8, big);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put("deferred"u8, "d"u8);
            tx.Commit(Durability.Deferred);
        }

        var reader = db.BeginRead();
        Assert.True(reader.TryGet(Key(7), out var early)); // a span taken before the dispose
        Assert.True(reader.TryGet("big"u8, out var earlyBig));
        var cursor = reader.OpenCursor();
        Assert.True(cursor.First());
        WriteTransaction writer = default; // a write transaction left open, started on another thread
        var starter = new Thread(() => writer = db.BeginWrite());
        starter.Start();
        starter.Join();
        writer.Put("lost"u8, "x"u8);
        db.Dispose();

        // New transactions are refused at once, and the file is unlocked: it opens again right away, with the
        // deferred commit durable and the open writer's change discarded.
        Assert.Throws<ObjectDisposedException>(() => db.BeginRead());
        Assert.Throws<ObjectDisposedException>(() => db.BeginWrite());
        using (var again = KvDatabase.Open(dir.File()))
        using (var rtx = again.BeginRead())
        {
            Assert.True(rtx.TryGet("deferred"u8, out var d2));
            Assert.Equal("d", Bytes.Str(d2));
            Assert.False(rtx.TryGet("lost"u8, out _));
            Assert.True(again.Check().IsValid);
        }

        // The leftover transactions throw on their next use...
        Assert.Throws<ObjectDisposedException>(() => reader.TryGet(Key(7), out _));
        Assert.Throws<ObjectDisposedException>(() => reader.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => cursor.Next());
        Assert.Throws<ObjectDisposedException>(() => writer.Put("k"u8, "v"u8));
        Assert.Throws<ObjectDisposedException>(() => writer.Commit());
        // ...but the map stays until the last of them is gone, so spans they handed out never fault.
        Assert.Equal("v7", Bytes.Str(early));
        Assert.True(earlyBig.SequenceEqual(big));
        writer.Dispose();
        reader.Dispose();
        using var last = KvDatabase.Open(dir.File());
        Assert.True(last.Check().IsValid);
    }

    [Fact]
    public void BeginRead_AllReaderSlotsInUse_ThrowsReaderSlotsFullAndRecovers()
    {
        // Bug pinned (issue 9): a full reader table also made Check and GetStats fail, so a program leaking
        // readers could not even diagnose it; and the error was an untyped MmapKvException.
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxReaders = 2 });
        var r1 = db.BeginRead();
        var r2 = db.BeginRead();
        var full = Assert.Throws<ReaderSlotsFullException>(() => db.BeginRead());
        Assert.Equal(2, full.Slots);
        Assert.Contains("TrackTransactions", full.Message); // tracking is off: the message says how to find the leak
        Assert.True(db.Check().IsValid);                    // the database's own reads have slots of their own
        var stats = db.GetStats();
        Assert.Equal(2, stats.ActiveReaders);
        Assert.Equal(2, stats.Readers.Count);
        Assert.True(stats.OldestReaderAge > TimeSpan.Zero);
        r1.Dispose();
        using (var r3 = db.BeginRead()) Assert.Equal(0, r3.TxnId);
        r2.Dispose();
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public async Task BeginWriteAsync_CanceledWhileWaiting_ThrowsAndReleasesItsReference()
    {
        using var dir = new TempDir();
        var db = KvDatabase.Open(dir.File());
        var holder = db.BeginWrite();
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await db.BeginWriteAsync(cts.Token));
        holder.Put("k"u8, "v"u8);
        holder.Commit();
        db.Dispose();
        // Had the canceled wait kept a reference, the database would still be open and the file locked.
        using var again = KvDatabase.Open(dir.File());
        using var tx = again.BeginRead();
        Assert.True(tx.TryGet("k"u8, out _));
    }
}
