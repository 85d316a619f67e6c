using System.Diagnostics;
using System.Runtime.Versioning;
using MmapKv.Storage;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The lock file's OS layer (<see cref="ILockFile"/>) within one process: locks belong to an instance, not to the
/// process, so two instances conflict like two processes; maps of one file share their bytes. Portable: these run
/// on Linux and, through .ci/wine, on Windows. <see cref="LockFileUnixTests"/> has the ones that need Unix.
/// </summary>
public sealed unsafe class LockFileTests
{
    internal static string NewDatabase(TempDir dir)
    {
        string db = dir.File();
        File.WriteAllBytes(db, [1, 2, 3]);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(db, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return db;
    }

    internal static ILockFile Open(string db) => LockFile.Open(LockFile.PathFor(db), db, Convert.ToInt32("600", 8), readOnlyDatabase: false);

    [Fact]
    public void Open_CreatesTheLockFileBesideTheDatabase_Unmapped()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var lf = Open(db);
        Assert.Equal(db + "-lock", lf.Path);
        Assert.True(File.Exists(db + "-lock"));
        Assert.True(lf.Base == null);
        Assert.Equal(0, lf.Length);
        Assert.Equal(0, lf.FileLength);
    }

    [Fact]
    public void Exclusive_IsRefusedToASecondInstanceInTheSameProcess_UntilUnlocked()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        Assert.True(a.TryLock(0, exclusive: true));
        Assert.Equal(true, a.HeldMode(0));
        Assert.False(b.TryLock(0, exclusive: true));
        Assert.False(b.TryLock(0, exclusive: false));
        Assert.Null(b.HeldMode(0));
        Assert.True(b.TryLock(1, exclusive: true)); // another byte is another lock
        a.Unlock(0);
        Assert.Null(a.HeldMode(0));
        Assert.True(b.TryLock(0, exclusive: true));
        Assert.False(a.TryLock(0, exclusive: false));
    }

    /// <summary>
    /// The writer's question of invariant L8: which bytes do other holders lock? Both modes are reported, and a
    /// search that finds more than its limit says so. The asker's own locks are left out on Linux; Windows cannot
    /// tell them from another's on the same byte, so there they are reported too (never fewer bytes than others lock).
    /// </summary>
    [Fact]
    public void FindLockedByOthers_ReportsOtherHoldersLocks_NotOwn_AndStopsAtTheLimit()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        const long Base = 1L << 32;
        foreach (long at in new long[] { 10, 11, 12, 500, 70_000 }) Assert.True(a.TryLock(Base + at, exclusive: false));
        Assert.True(a.TryLock(Base + 900, exclusive: true));
        Assert.True(b.TryLock(Base + 13, exclusive: false));
        Assert.True(b.TryLock(Base + 500, exclusive: false)); // both hold it

        long[] Own(params long[] own) => OperatingSystem.IsWindows() ? own : [];
        var seen = new List<long>();
        Assert.True(b.FindLockedByOthers(Base, 100_000, seen, 100));
        Assert.Equal(new long[] { 10, 11, 12, 500, 900, 70_000 }.Union(Own(13)).Order(), seen.Select(o => o - Base).Order());

        seen.Clear();
        Assert.True(a.FindLockedByOthers(Base, 100_000, seen, 100));
        Assert.Equal(new long[] { 13, 500 }.Union(Own(10, 11, 12, 900, 70_000)).Order(), seen.Select(o => o - Base).Order());

        seen.Clear();
        Assert.True(b.FindLockedByOthers(Base + 11, 2, seen, 100)); // only the range asked about
        Assert.Equal(new long[] { 11, 12 }, seen.Select(o => o - Base).Order());

        seen.Clear();
        Assert.False(b.FindLockedByOthers(Base, 100_000, seen, 3));

        a.Unlock(Base + 500);
        a.Unlock(Base + 70_000);
        seen.Clear();
        Assert.True(b.FindLockedByOthers(Base, 100_000, seen, 100));
        Assert.Equal(new long[] { 10, 11, 12, 900 }.Union(Own(13, 500)).Order(), seen.Select(o => o - Base).Order());
        Assert.Equal(false, a.HeldMode(Base + 10)); // a query takes nothing and changes nothing
        Assert.Null(b.HeldMode(Base + 10));
    }

    [Fact]
    public void Shared_CoexistsWithShared_AndKeepsExclusiveOut()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        using var c = Open(db);
        Assert.True(a.TryLock(7, exclusive: false));
        Assert.True(b.TryLock(7, exclusive: false));
        Assert.False(c.TryLock(7, exclusive: true));
        a.Unlock(7);
        Assert.False(c.TryLock(7, exclusive: true)); // b still shares it
        b.Unlock(7);
        Assert.True(c.TryLock(7, exclusive: true));
    }

    [Fact]
    public void SameModeTwice_DoesNotStack_OneUnlockReleases()
    {
        // Windows stacks LockFileEx locks (two shared locks need two unlocks); the class must not.
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        Assert.True(a.TryLock(3, exclusive: false));
        Assert.True(a.TryLock(3, exclusive: false));
        a.Lock(3, exclusive: false);
        a.Unlock(3);
        Assert.True(b.TryLock(3, exclusive: true));
        b.Unlock(3);
        a.Unlock(3); // nothing held: nothing happens
        Assert.True(a.TryLock(3, exclusive: true));
        Assert.True(a.TryLock(3, exclusive: true));
        a.Unlock(3);
        Assert.True(b.TryLock(3, exclusive: false));
    }

    [Fact]
    public void Upgrade_WhileAnotherSharesIt_Fails_AndKeepsTheSharedLock_ThenSucceedsAlone()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        using var c = Open(db);
        Assert.True(a.TryLock(0, exclusive: false));
        Assert.True(b.TryLock(0, exclusive: false));
        Assert.False(a.TryLock(0, exclusive: true));
        // Linux converts in place; Windows gives the shared lock back (nobody took the byte exclusively here).
        Assert.Equal(false, a.HeldMode(0));
        Assert.False(c.TryLock(0, exclusive: true)); // a still shares it
        b.Unlock(0);
        Assert.True(a.TryLock(0, exclusive: true));
        Assert.Equal(true, a.HeldMode(0));
        Assert.False(b.TryLock(0, exclusive: false));
    }

    [Fact]
    public void Downgrade_LetsOtherSharersIn_AndKeepsWritersOut()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        Assert.True(a.TryLock(2, exclusive: true));
        Assert.False(b.TryLock(2, exclusive: false));
        Assert.True(a.TryLock(2, exclusive: false));
        Assert.Equal(false, a.HeldMode(2));
        Assert.True(b.TryLock(2, exclusive: false));
        b.Unlock(2);
        Assert.False(b.TryLock(2, exclusive: true)); // a's shared lock is still there
        a.Unlock(2);
        Assert.True(b.TryLock(2, exclusive: true)); // and a single unlock removed all of a's
    }

    [Fact]
    public void Dispose_ReleasesEveryLock_EvenWhileMapped()
    {
        // A map holds the open file description on Linux, so closing the descriptor alone would keep the locks.
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var b = Open(db);
        var a = Open(db);
        a.Resize(4096);
        Assert.True(a.TryLock(0, exclusive: true));
        Assert.True(a.TryLock(9, exclusive: false));
        a.Dispose();
        Assert.True(b.TryLock(0, exclusive: true));
        Assert.True(b.TryLock(9, exclusive: true));
        Assert.Throws<ObjectDisposedException>(() => a.TryLock(0, exclusive: false));
        a.Dispose(); // twice: nothing
    }

    [Fact]
    public void Lock_WaitsForTheHolder_ThenTakesIt()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        a.Lock(4, exclusive: true);
        Exception? failure = null;
        var waiter = new Thread(() =>
        {
            try { b.Lock(4, exclusive: true); }
            catch (Exception e) { failure = e; }
        });
        waiter.Start();
        Assert.False(waiter.Join(300), "Lock returned while another instance held the byte exclusively");
        a.Unlock(4);
        Assert.True(waiter.Join(TimeSpan.FromSeconds(10)), "Lock did not return after the holder unlocked");
        Assert.Null(failure);
        Assert.Equal(true, b.HeldMode(4));
        Assert.False(a.TryLock(4, exclusive: false));
    }

    [Fact]
    public void Maps_OfOneFile_ShareTheirBytes()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        using var b = Open(db);
        a.Resize(8192);
        Assert.Equal(8192, a.Length);
        Assert.Equal(8192, a.FileLength);
        for (int i = 0; i < 8192; i++) Assert.Equal(0, a.Base[i]);
        a.Base[0] = 0x11;
        a.Base[8191] = 0x22;
        b.MapExisting(4096);
        Assert.Equal(8192, b.Length);
        Assert.Equal(0x11, b.Base[0]);
        Assert.Equal(0x22, b.Base[8191]);
        b.Base[100] = 0x33;
        Assert.Equal(0x33, a.Base[100]);
        b.MapExisting(4096); // replaces b's map (a joiner's retry maps again)
        Assert.Equal(8192, b.Length);
        Assert.Equal(0x33, b.Base[100]);
        b.Base[200] = 0x44;
        Assert.Equal(0x44, a.Base[200]);
    }

    [Fact]
    public void Resize_KeepsTheBytesBelowTheOldLength_AndZeroesTheNewOnes()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        a.Resize(4096);
        a.Base[4095] = 0x7F;
        a.Resize(3 * 4096);
        Assert.Equal(3 * 4096, a.Length);
        Assert.Equal(0x7F, a.Base[4095]);
        for (int i = 4096; i < 3 * 4096; i++) Assert.Equal(0, a.Base[i]);
        a.Resize(4096);
        Assert.Equal(4096, a.FileLength);
        Assert.Equal(0x7F, a.Base[4095]);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Resize(0));
    }

    [Fact]
    public void MapExisting_OfAShortFile_SaysHowShort()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        using var a = Open(db);
        var e = Assert.Throws<InvalidDataException>(() => a.MapExisting(4096));
        Assert.Contains(a.Path, e.Message);
        Assert.Contains("0 bytes", e.Message);
        a.Resize(100);
        using var b = Open(db);
        e = Assert.Throws<InvalidDataException>(() => b.MapExisting(4096));
        Assert.Contains("100 bytes", e.Message);
        Assert.True(b.Base == null);
    }

    [Fact]
    public void Open_DirectoryAtTheLockPath_IsRefused()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        Directory.CreateDirectory(LockFile.PathFor(db));
        var e = Assert.Throws<IOException>(() => Open(db));
        Assert.Contains("directory", e.Message);
        Assert.Contains(LockFile.PathFor(db), e.Message);
    }

    [Fact]
    public void Open_InAMissingDirectory_SaysTheDirectoryIsMissing()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        string lockPath = Path.Combine(dir.Path, "nope", "x-lock");
        Assert.Throws<DirectoryNotFoundException>(() => LockFile.Open(lockPath, db, Convert.ToInt32("600", 8), readOnlyDatabase: false));
    }

    [Fact]
    public void Open_WithANonPermissionCreateMode_IsRefused()
    {
        using var dir = new TempDir();
        string db = NewDatabase(dir);
        Assert.Throws<ArgumentOutOfRangeException>(() => LockFile.Open(LockFile.PathFor(db), db, 0x1000, readOnlyDatabase: false));
    }
}

/// <summary>
/// The lock file across real processes (a python3 child using the same OFD locks and mmap) and its Unix security
/// checks. Linux only: excluded from .ci/wine as a class.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed unsafe class LockFileUnixTests(ITestOutputHelper output)
{
    private static int Mode(string octal) => Convert.ToInt32(octal, 8);

    // The child: "lock OFFSET r|w" tries a non-blocking OFD lock and answers locked/busy; "hold OFFSET w" locks
    // and then waits for stdin; "peek OFFSET" prints the mapped byte at OFFSET; "poke OFFSET VALUE" stores it.
    private const string ChildScript = """
        import fcntl, mmap, os, struct, sys
        fd = os.open(sys.argv[1], os.O_RDWR)
        def lock(off, kind):
            t = fcntl.F_WRLCK if kind == "w" else fcntl.F_RDLCK
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", t, 0, off, 1, 0))
        for line in sys.stdin:
            cmd = line.split()
            try:
                if cmd[0] == "lock":
                    lock(int(cmd[1]), cmd[2]); print("locked", flush=True)
                elif cmd[0] == "unlock":
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_UNLCK, 0, int(cmd[1]), 1, 0)); print("unlocked", flush=True)
                elif cmd[0] == "peek":
                    m = mmap.mmap(fd, 0); print(m[int(cmd[1])], flush=True); m.close()
                elif cmd[0] == "poke":
                    m = mmap.mmap(fd, 0); m[int(cmd[1])] = int(cmd[2]); m.close(); print("poked", flush=True)
            except BlockingIOError:
                print("busy", flush=True)
        """;

    private sealed class Child : IDisposable
    {
        private readonly Process _p;

        public Child(string lockPath)
        {
            var psi = new ProcessStartInfo("python3")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(ChildScript);
            psi.ArgumentList.Add(lockPath);
            _p = Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
        }

        public string Ask(string command)
        {
            _p.StandardInput.WriteLine(command);
            _p.StandardInput.Flush();
            var line = _p.StandardOutput.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(20)))
                throw new TimeoutException($"the child did not answer '{command}'");
            return line.Result ?? throw new InvalidOperationException($"the child exited: {_p.StandardError.ReadToEnd()}");
        }

        public void Kill()
        {
            _p.Kill(); // SIGKILL: no cleanup in the child
            Assert.True(_p.WaitForExit(20_000), "the killed child did not exit");
        }

        public void Dispose()
        {
            try { if (!_p.HasExited) _p.Kill(); } catch (InvalidOperationException) { }
            _p.Dispose();
        }
    }

    [Fact]
    public void FlockRecord_HasTheLinux64BitLayout()
    {
        // short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid, padding: the struct the child packs as "hhqqi4x".
        var r = new Libc.FlockRecord();
        byte* b = (byte*)&r;
        Assert.Equal(32, sizeof(Libc.FlockRecord));
        Assert.Equal(0, (byte*)&r.Type - b);
        Assert.Equal(2, (byte*)&r.Whence - b);
        Assert.Equal(8, (byte*)&r.Start - b);
        Assert.Equal(16, (byte*)&r.Length - b);
        Assert.Equal(24, (byte*)&r.Pid - b);
    }

    [Fact]
    public void OtherProcess_CannotTakeAByteHeldExclusivelyHere_UntilUnlocked()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        using var lf = LockFileTests.Open(db);
        Assert.True(lf.TryLock(0, exclusive: true));
        using var child = new Child(lf.Path);
        Assert.Equal("busy", child.Ask("lock 0 w"));
        Assert.Equal("busy", child.Ask("lock 0 r"));
        Assert.Equal("locked", child.Ask("lock 1 w"));
        Assert.False(lf.TryLock(1, exclusive: false));
        lf.Unlock(0);
        Assert.Equal("locked", child.Ask("lock 0 w"));
        Assert.False(lf.TryLock(0, exclusive: false));
    }

    [Fact]
    public void SharedLocks_CoexistAcrossProcesses_AndBlockAnUpgrade()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        using var lf = LockFileTests.Open(db);
        Assert.True(lf.TryLock(5, exclusive: false));
        using var child = new Child(lf.Path);
        Assert.Equal("locked", child.Ask("lock 5 r"));
        Assert.False(lf.TryLock(5, exclusive: true));
        Assert.Equal(false, lf.HeldMode(5));
        Assert.Equal("busy", child.Ask("lock 5 w")); // our shared lock survived the failed upgrade (atomic on Linux)
        Assert.Equal("unlocked", child.Ask("unlock 5"));
        Assert.True(lf.TryLock(5, exclusive: true));
        Assert.Equal("busy", child.Ask("lock 5 r"));
    }

    [Fact]
    public void LockOfASigkilledProcess_IsReleased()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        using var lf = LockFileTests.Open(db);
        using var child = new Child(lf.Path);
        Assert.Equal("locked", child.Ask("lock 3 w"));
        Assert.False(lf.TryLock(3, exclusive: false));
        child.Kill();
        Assert.True(lf.TryLock(3, exclusive: true));
    }

    [Fact]
    public void Map_IsSharedWithAnotherProcess_BothWays()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        using var lf = LockFileTests.Open(db);
        lf.Resize(4096);
        lf.Base[100] = 0x5A;
        using var child = new Child(lf.Path);
        Assert.Equal("90", child.Ask("peek 100"));
        Assert.Equal("poked", child.Ask("poke 200 165"));
        Assert.Equal(0xA5, Volatile.Read(ref lf.Base[200]));
    }

    [Fact]
    public void Create_NarrowsTheModeToTheDatabases()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir); // 0600
        using (LockFile.Open(LockFile.PathFor(db), db, Mode("644"), readOnlyDatabase: false)) { }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(LockFile.PathFor(db)));
    }

    [Fact]
    public void Open_LockFileWithAWiderModeThanTheDatabase_IsRefused()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir); // 0600
        string lockPath = LockFile.PathFor(db);
        File.WriteAllBytes(lockPath, []);
        File.SetUnixFileMode(lockPath, (UnixFileMode)Mode("620"));
        var e = Assert.Throws<UnauthorizedAccessException>(() => LockFileTests.Open(db));
        output.WriteLine(e.Message);
        Assert.Contains(lockPath, e.Message);
        Assert.Contains("0620", e.Message);
        Assert.Contains("020", e.Message);
        // The same bits as the database, or fewer, are accepted.
        File.SetUnixFileMode(lockPath, (UnixFileMode)Mode("400"));
        LockFileTests.Open(db).Dispose();
        File.SetUnixFileMode(lockPath, (UnixFileMode)Mode("600"));
        LockFileTests.Open(db).Dispose();
        File.SetUnixFileMode(lockPath, (UnixFileMode)Mode("4600")); // set-user-id is a bit too
        Assert.Throws<UnauthorizedAccessException>(() => LockFileTests.Open(db));
    }

    [Fact]
    public void Open_LockFileOfAnotherOwner_IsRefused()
    {
        if (!IsRoot())
        {
            output.WriteLine("NOT RUN: giving a file to another user needs root.");
            return;
        }
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        string lockPath = LockFile.PathFor(db);
        File.WriteAllBytes(lockPath, []);
        File.SetUnixFileMode(lockPath, (UnixFileMode)Mode("600"));
        Chown(lockPath, 12345);
        var e = Assert.Throws<UnauthorizedAccessException>(() => LockFileTests.Open(db));
        output.WriteLine(e.Message);
        Assert.Contains(lockPath, e.Message);
        Assert.Contains("uid 12345", e.Message);
    }

    [Fact]
    public void Create_ByRootForAnotherUsersDatabase_GivesTheLockFileToTheDatabaseOwner()
    {
        if (!IsRoot())
        {
            output.WriteLine("NOT RUN: needs root.");
            return;
        }
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        Chown(db, 12345);
        using (LockFileTests.Open(db)) { }
        Assert.Equal("12345", Run("stat", "-c", "%u", LockFile.PathFor(db)).Trim());
        LockFileTests.Open(db).Dispose(); // and it passes the owner check afterwards
    }

    [Fact]
    public void Open_SymbolicLinkAtTheLockPath_IsRefused_AndItsTargetUntouched()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        string target = dir.File("victim");
        File.WriteAllText(target, "keep me");
        File.SetUnixFileMode(target, (UnixFileMode)Mode("600"));
        File.CreateSymbolicLink(LockFile.PathFor(db), target);
        var e = Assert.Throws<UnauthorizedAccessException>(() => LockFileTests.Open(db));
        Assert.Contains("symbolic link", e.Message);
        Assert.Equal("keep me", File.ReadAllText(target));
        // A dangling link is not followed to create its target either.
        File.Delete(target);
        Assert.Throws<UnauthorizedAccessException>(() => LockFileTests.Open(db));
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void Open_HardLinkedLockFile_IsRefused()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        string other = dir.File("other");
        File.WriteAllText(other, "keep me");
        File.SetUnixFileMode(other, (UnixFileMode)Mode("600"));
        Run("ln", other, LockFile.PathFor(db));
        var e = Assert.Throws<UnauthorizedAccessException>(() => LockFileTests.Open(db));
        Assert.Contains("2 hard links", e.Message);
        Assert.Equal("keep me", File.ReadAllText(other));
    }

    [Fact]
    public void Open_FifoAtTheLockPath_IsRefusedAtOnce()
    {
        using var dir = new TempDir();
        string db = LockFileTests.NewDatabase(dir);
        Run("mkfifo", "-m", "600", LockFile.PathFor(db));
        var open = Task.Run(() => LockFileTests.Open(db));
        Assert.True(((IAsyncResult)open).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(20)), "opening a FIFO hung");
        var e = Assert.Throws<IOException>(() => open.GetAwaiter().GetResult());
        Assert.Contains("FIFO", e.Message);
    }

    [Fact]
    public void Open_WithoutTheDatabase_SaysTheDatabaseIsMissing()
    {
        using var dir = new TempDir();
        string db = dir.File();
        Assert.Throws<FileNotFoundException>(() => LockFileTests.Open(db));
        Assert.False(File.Exists(LockFile.PathFor(db)));
    }

    private static bool IsRoot() => Run("id", "-u").Trim() == "0";

    private static void Chown(string path, int uid) => Run("chown", uid.ToString(System.Globalization.CultureInfo.InvariantCulture), path);

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed ({p.ExitCode}): {stderr}");
        return stdout;
    }
}
