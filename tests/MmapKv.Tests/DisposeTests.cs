using System.Diagnostics;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// What <see cref="KvDatabase.Dispose"/> promises: when it returns, every commit that returned before it is durable
/// and the file is unlocked, whatever the interval flush was doing and whatever transactions are left open.
/// </summary>
public class DisposeTests(ITestOutputHelper output)
{
    [Fact]
    public void Dispose_ThenProcessExit_KeepsEveryDeferredCommit()
    {
        // Bug pinned (issue 9): Dispose returned at once while the background flush held a reference, and the
        // flush (on a background thread) died with the process: up to about 60 of the last deferred commits were
        // gone after a clean Dispose and return from Main. Real processes, so the process exit is real.
        const int commits = 120;
        for (int run = 0; run < 3; run++)
        {
            using var dir = new TempDir();
            string db = dir.File();
            var psi = ChildLauncher.For(ProcessKillTests.ChildDll, "--deferred-exit", db, commits.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using (var child = Process.Start(psi)!)
            {
                string stdout = child.StandardOutput.ReadToEnd();
                string stderr = child.StandardError.ReadToEnd();
                Assert.True(child.WaitForExit(120_000), "the child did not exit");
                Assert.True(child.ExitCode == 0, $"child failed ({child.ExitCode}): {stderr}");
                output.WriteLine($"run {run}: {stdout.Trim()}");
            }
            using var again = KvDatabase.Open(db);
            using var tx = again.BeginRead();
            Assert.True(tx.TryGet("last"u8, out var last), "the last commit before Dispose is missing");
            Assert.Equal(commits, BitConverter.ToInt32(last));
            for (int i = 0; i < commits; i++)
            {
                Assert.True(tx.TryGet(Bytes.Of($"big/{i:D5}"), out var v), $"deferred commit {i} is missing");
                Assert.Equal(1 << 20, v.Length);
                Assert.Equal((byte)i, v[^1]);
            }
            Assert.True(again.Check().IsValid);
        }
    }

    [Fact]
    public void Dispose_WhileTheIntervalFlushRuns_UnlocksAndLeavesEveryCommitOnDisk()
    {
        // The same bug in one process: the file stayed locked after Dispose returned, so a reopen failed.
        using var dir = new TempDir();
        var options = new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.FromMilliseconds(1) };
        var value = new byte[1 << 20];
        for (int round = 0; round < 10; round++)
        {
            var db = KvDatabase.Open(dir.File(), options);
            for (int i = 0; i < 60; i++)
            {
                using var tx = db.BeginWrite();
                value.AsSpan().Fill((byte)(round + i));
                tx.Put(Bytes.Of($"r{round}/{i}"), value);
                tx.Commit();
            }
            long last = db.LastTxnId;
            db.Dispose();
            // Unlocked the moment Dispose returns: FileShare.None takes the same flock, without the open's retry.
            new FileStream(dir.File(), FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();
            using var again = KvDatabase.Open(dir.File());
            Assert.Equal(last, again.DurableTxnId); // everything committed is on disk, not only in the page cache
            Assert.Equal(last, again.LastTxnId);
        }
    }

    [Fact]
    public async Task Dispose_WithAWriterWaitingForTheLock_RefusesItWithObjectDisposed()
    {
        using var dir = new TempDir();
        var db = KvDatabase.Open(dir.File());
        var holder = db.BeginWrite();
        var waiter = Task.Run(() => db.BeginWrite());
        Thread.Sleep(50); // let it block on the writer lock
        db.Dispose();
        holder.Dispose(); // the waiter now gets the lock, and must find the database closed
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiter.WaitAsync(TimeSpan.FromSeconds(10)));
        using var again = KvDatabase.Open(dir.File());
        Assert.True(again.Check().IsValid);
    }
}
