using System.Diagnostics;
using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// The file lock. With <see cref="KvOptions.Exclusive"/> a second open in this process, or an open while another
/// process holds the lock, throws DatabaseLockedException; without it (the default) any number of openers share
/// the file, and exclusive and shared openers never mix.
/// </summary>
public class LockingTests
{
    private static readonly KvOptions Exclusive = new() { Exclusive = true };

    [Fact]
    public void Open_ExclusiveSameFileTwiceInOneProcess_ThrowsDatabaseLocked()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File(), Exclusive))
        {
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), Exclusive));
            var shared = Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File()));
            Assert.Contains("Exclusive", shared.Message);
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true }));
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), Exclusive with { ReadOnly = true }));
            Assert.Throws<IOException>(() => AssertNotLocked(dir.File())); // the helper detects the lock
            // The refused opens did not disturb the first instance.
            using var tx = db.BeginWrite();
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File(), Exclusive))
        using (var tx = db.BeginRead())
            Assert.True(tx.TryGet("k"u8, out _));
    }

    [Fact]
    public void Open_SharedByDefault_ManyOpenersCoexist_AndAnExclusiveOpenIsRefused()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        using var r1 = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        using var r2 = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        using var w1 = KvDatabase.Open(dir.File());
        using var w2 = KvDatabase.Open(dir.File());
        var e = Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), Exclusive));
        Assert.Contains("only opener", e.Message);
        Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), Exclusive with { ReadOnly = true }));
        using (var tx = w2.BeginWrite())
        {
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        foreach (var db in new[] { r1, r2, w1 })
        {
            using var tx = db.BeginRead();
            Assert.True(tx.TryGet("k"u8, out var v));
            Assert.Equal("v"u8.ToArray(), v.ToArray());
        }
    }

    private const string FlockScript = """
        import fcntl, os, sys
        fd = os.open(sys.argv[1], os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("busy", flush=True)
            sys.exit(3)
        print("locked", flush=True)
        sys.stdin.readline()
        """;

    private static Process StartFlockChild(string path)
    {
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(FlockScript);
        psi.ArgumentList.Add(path);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
    }

    private static async Task<string?> ReadLineWithin(Process p, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await p.StandardOutput.ReadLineAsync(cts.Token);
    }

    private static void KillIfRunning(Process p)
    {
        try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { }
    }

    [Fact]
    public async Task Open_LocksTheFileAgainstOtherProcesses()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        {
            using var child = StartFlockChild(dir.File());
            try
            {
                Assert.Equal("busy", await ReadLineWithin(child, TimeSpan.FromSeconds(10)));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await child.WaitForExitAsync(cts.Token);
                Assert.Equal(3, child.ExitCode);
            }
            finally { KillIfRunning(child); }
        }
        // Closed: another process can lock the file.
        using var after = StartFlockChild(dir.File());
        try
        {
            Assert.Equal("locked", await ReadLineWithin(after, TimeSpan.FromSeconds(10)));
            after.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await after.WaitForExitAsync(cts.Token);
            Assert.Equal(0, after.ExitCode);
        }
        finally { KillIfRunning(after); }
    }

    [Fact]
    public async Task Open_FileLockedByAnotherProcess_ThrowsDatabaseLocked()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        using var child = StartFlockChild(dir.File());
        try
        {
            Assert.Equal("locked", await ReadLineWithin(child, TimeSpan.FromSeconds(10)));
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File()));
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true }));
            child.StandardInput.Close(); // the child exits and its lock goes with it
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await child.WaitForExitAsync(cts.Token);
            Assert.Equal(0, child.ExitCode);
        }
        finally { KillIfRunning(child); }

        using var reopened = KvDatabase.Open(dir.File());
        using var rtx = reopened.BeginRead();
        Assert.True(rtx.TryGet("k"u8, out var v));
        Assert.Equal("v", Bytes.Str(v));
    }
}
