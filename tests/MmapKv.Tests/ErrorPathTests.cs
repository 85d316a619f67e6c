using System.Buffers.Binary;
using System.Diagnostics;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// One test per error path of the public API: files that are not (or no longer) databases, locking, a full
/// database, and API misuse. Each asserts the exact exception type the contract names.
/// </summary>
public class ErrorPathTests
{
    // ================================================================ helpers

    private static byte[] Key(int i) => Bytes.Of($"key{i:D6}");

    private static byte[] Value(int i, int length)
    {
        var v = new byte[length];
        new Random(i).NextBytes(v);
        return v;
    }

    /// <summary>Offset of meta slot <paramref name="slot"/> in a file of <paramref name="pageSize"/> pages.</summary>
    private static int SlotOffset(int slot, int pageSize) => slot * pageSize;

    private static long MetaTxnId(byte[] file, int slot, int pageSize) =>
        BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(SlotOffset(slot, pageSize) + MetaPage.TxnIdOffset));

    private static long MetaField(byte[] file, int slot, int pageSize, int offset) =>
        BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(SlotOffset(slot, pageSize) + offset));

    /// <summary>The slot holding the newest commit.</summary>
    private static int NewestSlot(byte[] file, int pageSize) =>
        MetaTxnId(file, 0, pageSize) >= MetaTxnId(file, 1, pageSize) ? 0 : 1;

    private static void RecomputeMetaChecksum(byte[] file, int slot, int pageSize)
    {
        int o = SlotOffset(slot, pageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(o + MetaPage.ChecksumOffset),
            Checksum.Compute(file.AsSpan(o, MetaPage.ChecksumOffset)));
    }

    private static void SetMetaVersion(byte[] file, int slot, int pageSize, uint version)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(SlotOffset(slot, pageSize) + MetaPage.VersionOffset), version);
        RecomputeMetaChecksum(file, slot, pageSize);
    }

    /// <summary>Rewrites a closed database file through <paramref name="patch"/>.</summary>
    private static void Patch(string path, Action<byte[]> patch)
    {
        byte[] file = File.ReadAllBytes(path);
        patch(file);
        File.WriteAllBytes(path, file);
    }

    /// <summary>
    /// A database with two commits: txn 1 writes keys 0..n-1 (value "one-i"), txn 2 overwrites key 0 and adds
    /// "second". So slot 1 holds txn 1 and slot 0 holds txn 2.
    /// </summary>
    private static void CreateTwoCommits(string path, int pageSize = 4096, int n = 50)
    {
        using var db = KvDatabase.Open(path, new KvOptions { PageSize = pageSize });
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < n; i++) tx.Put(Key(i), Bytes.Of($"one-{i}"));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put(Key(0), "two-0"u8);
            tx.Put("second"u8, "2"u8);
            tx.Commit();
        }
        Assert.Equal(2, db.LastTxnId);
    }

    private static void AssertFirstCommitContents(KvDatabase db, int n = 50)
    {
        using var tx = db.BeginRead();
        Assert.Equal(1, tx.TxnId);
        for (int i = 0; i < n; i++)
        {
            Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
            Assert.Equal($"one-{i}", Bytes.Str(v));
        }
        Assert.False(tx.TryGet("second"u8, out _));
    }

    private static void AssertSecondCommitContents(KvDatabase db, int n = 50)
    {
        using var tx = db.BeginRead();
        Assert.Equal(2, tx.TxnId);
        Assert.True(tx.TryGet(Key(0), out var v0));
        Assert.Equal("two-0", Bytes.Str(v0));
        for (int i = 1; i < n; i++)
        {
            Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
            Assert.Equal($"one-{i}", Bytes.Str(v));
        }
        Assert.True(tx.TryGet("second"u8, out var s));
        Assert.Equal("2", Bytes.Str(s));
    }

    private static void AssertOpenFails<T>(string path, bool readOnly) where T : Exception
    {
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<T>(() => KvDatabase.Open(path, new KvOptions { ReadOnly = readOnly }).Dispose());
        // A refused open writes nothing and leaves no lock behind.
        Assert.Equal(before, File.ReadAllBytes(path));
        AssertNotLocked(path);
        Assert.Empty(Directory.GetFiles(System.IO.Path.GetDirectoryName(path)!, "*.creating-*"));
    }

    /// <summary>.NET takes flock(LOCK_EX | LOCK_NB) for FileShare.None on Unix, so this fails while a KvDatabase holds the file.</summary>
    private static void AssertNotLocked(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();

    // ================================================================ not a database

    [Theory]
    [InlineData(10, false)]
    [InlineData(10, true)]
    [InlineData(255, false)]
    [InlineData(256, false)]
    [InlineData(4096, false)]
    [InlineData(4096, true)]
    [InlineData(8192, false)]
    [InlineData(4096 + 300, false)]
    [InlineData(100 * 1024, false)]
    [InlineData(100 * 1024, true)]
    public void Open_RandomBytesFile_ThrowsCorruptDatabase(int size, bool readOnly)
    {
        using var dir = new TempDir();
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        File.WriteAllBytes(dir.File(), bytes);
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Open_EmptyFile_ThrowsCorruptDatabase(bool readOnly)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(), Array.Empty<byte>());
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly);
        Assert.Equal(0, new FileInfo(dir.File()).Length); // not "repaired" into a new database
    }

    [Theory]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(8192)]
    [InlineData(1 << 20)]
    public void Open_FileOfZeros_ThrowsCorruptDatabase(int size)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(), new byte[size]);
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
    }

    [Fact]
    public void Open_TextFile_ThrowsCorruptDatabase()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(), string.Concat(Enumerable.Repeat("This is not a database.\n", 1000)));
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
    }

    /// <summary>-1 means half of the file; other values are absolute lengths.</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(100)]
    [InlineData(4096 + 100)]
    [InlineData(8192)]
    [InlineData(3 * 4096)]
    public void Open_TruncatedDatabase_ThrowsCorruptDatabase(int truncateTo)
    {
        using var dir = new TempDir();
        string path = dir.File();
        using (var db = KvDatabase.Open(path))
        {
            using (var tx = db.BeginWrite())
            {
                // ~200 overflow pages: most of the first 1 MiB growth step is in use.
                for (int i = 0; i < 200; i++) tx.Put(Key(i), Value(i, 3000));
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                tx.Put("last"u8, "x"u8);
                tx.Commit();
            }
        }
        byte[] file = File.ReadAllBytes(path);
        // -1: half of the pages the newest meta references (the file itself is longer: close keeps the delete reserve).
        long used = Math.Max(MetaField(file, 0, 4096, MetaPage.PageCountOffset), MetaField(file, 1, 4096, MetaPage.PageCountOffset)) * 4096;
        long newLength = truncateTo < 0 ? used / 2 : truncateTo;
        // Precondition: both meta slots reference pages past the new end, so neither may be used.
        for (int slot = 0; slot < 2; slot++)
            Assert.True(MetaField(file, slot, 4096, MetaPage.PageCountOffset) * 4096 > newLength,
                $"test setup: slot {slot} still fits in {newLength} bytes");
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write)) fs.SetLength(newLength);

        AssertOpenFails<CorruptDatabaseException>(path, readOnly: false);
        AssertOpenFails<CorruptDatabaseException>(path, readOnly: true);
    }

    [Theory]
    [InlineData(4096, 20)]                                  // txn id
    [InlineData(4096, MetaPage.MagicOffset)]                // magic
    [InlineData(4096, MetaPage.ChecksumOffset + 1)]         // the checksum itself
    [InlineData(16384, MetaPage.MainTreeOffset)]            // main root
    public void Open_BothMetaSlotsWithFlippedByte_ThrowsCorruptDatabase(int pageSize, int offset)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            f[SlotOffset(0, pageSize) + offset] ^= 0x10;
            f[SlotOffset(1, pageSize) + offset] ^= 0x10;
        });
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: true);
    }

    [Theory]
    [InlineData(4096, 2u)]
    [InlineData(4096, 0u)]
    [InlineData(16384, 2u)]
    [InlineData(65536, 0xFFFFFFFFu)]
    public void Open_BothMetaSlotsWithOtherFormatVersion_ThrowsIncompatibleFormat(int pageSize, uint version)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            SetMetaVersion(f, 0, pageSize, version);
            SetMetaVersion(f, 1, pageSize, version);
        });
        AssertOpenFails<IncompatibleFormatException>(dir.File(), readOnly: false);
        AssertOpenFails<IncompatibleFormatException>(dir.File(), readOnly: true);
    }

    /// <summary>
    /// Regression: with slot 0 destroyed and pages of 8 KiB or more, the search for slot 1 kept only the result at
    /// the first candidate offset (4096, inside page 0), so a version mismatch found at the real slot was lost and
    /// the open reported plain corruption. Slot 0 is destroyed; the only intact meta record (slot 1) is from
    /// another format version: the file is recognisably an MmapKv database of another version, whatever its page size.
    /// </summary>
    [Theory]
    [InlineData(4096)]
    [InlineData(16384)]
    [InlineData(65536)]
    public void Open_DamagedSlot0AndOtherVersionInSlot1_ThrowsIncompatibleFormat(int pageSize)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            Array.Clear(f, SlotOffset(0, pageSize), MetaPage.Size);
            SetMetaVersion(f, 1, pageSize, 2);
        });
        AssertOpenFails<IncompatibleFormatException>(dir.File(), readOnly: true);
    }

    // ================================================================ fallback to the other meta slot

    [Theory]
    [InlineData(4096)]
    [InlineData(16384)]
    public void Open_NewestMetaSlotDamaged_FallsBackToPreviousCommit(int pageSize)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            int newest = NewestSlot(f, pageSize);
            Assert.Equal(2, MetaTxnId(f, newest, pageSize));
            f[SlotOffset(newest, pageSize) + MetaPage.PageCountOffset] ^= 0x01;
        });
        using (var db = KvDatabase.Open(dir.File()))
        {
            Assert.Equal(pageSize, db.PageSize);
            Assert.Equal(1, db.LastTxnId);
            AssertFirstCommitContents(db);
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());

            // The database is writable from the recovered state, and the next commit replaces the damaged slot.
            using (var tx = db.BeginWrite())
            {
                tx.Put("after"u8, "recovery"u8);
                tx.Commit();
            }
            report = db.Check();
            Assert.True(report.IsValid, report.ToString());
        }
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginRead())
        {
            Assert.Equal(2, tx.TxnId);
            Assert.True(tx.TryGet("after"u8, out var v));
            Assert.Equal("recovery", Bytes.Str(v));
            Assert.False(tx.TryGet("second"u8, out _)); // the damaged commit stays lost
            Assert.True(tx.TryGet(Key(0), out var v0));
            Assert.Equal("one-0", Bytes.Str(v0));
            Assert.True(db.Check().IsValid);
        }
    }

    [Fact]
    public void Open_Slot0Damaged_OpensFromSlot1()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            Assert.Equal(2, MetaTxnId(f, 0, 4096));
            Array.Fill(f, (byte)0xA5, 0, MetaPage.Size); // slot 0 overwritten with garbage
        });
        using var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        Assert.Equal(1, db.LastTxnId);
        AssertFirstCommitContents(db);
    }

    [Fact]
    public void Open_OlderMetaSlotDamaged_OpensNewestCommit()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            int older = 1 - NewestSlot(f, 4096);
            f[SlotOffset(older, 4096) + MetaPage.TxnIdOffset] ^= 0x40;
        });
        using var db = KvDatabase.Open(dir.File());
        Assert.Equal(2, db.LastTxnId);
        AssertSecondCommitContents(db);
        Assert.True(db.Check().IsValid);
    }

    // ================================================================ damaged pages

    [Fact]
    public void Read_DamagedLeafPage_ThrowsCorruptDatabaseAndCheckReportsIt()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("a"u8, "1"u8);
            tx.Commit();
        }
        Patch(dir.File(), f =>
        {
            int newest = NewestSlot(f, 4096);
            long root = MetaField(f, newest, 4096, MetaPage.MainTreeOffset + TreeDescriptor.RootOffset);
            Assert.True(root >= 2);
            f[root * 4096 + PageHeader.KindOffset] = (byte)PageKind.Overflow;
        });
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginRead())
            {
                Assert.Throws<CorruptDatabaseException>(() => tx.TryGet("a"u8, out _));
                using var c = tx.OpenCursor();
                Assert.Throws<CorruptDatabaseException>(() => c.First());
            }
            var report = db.Check();
            Assert.False(report.IsValid);
            Assert.True(report.ProblemCount > 0);
        }
    }

    [Fact]
    public void Open_DamagedFreeMapDirectory_ThrowsCorruptDatabaseAndReleasesTheLock()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            int newest = NewestSlot(f, 4096);
            long freeList = MetaField(f, newest, 4096, MetaPage.FreeMapPageOffset);
            Assert.True(freeList >= 2, "test setup: the second commit must have written a free list");
            f[freeList * 4096 + PageHeader.KindOffset] = (byte)PageKind.Leaf;
        });
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
        // The failed open released its lock: another open of the file succeeds (read-only does not read the list).
        using var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        Assert.False(db.Check().IsValid);
    }

    // ================================================================ locking

    [Fact]
    public void Open_SameFileTwiceInOneProcess_ThrowsDatabaseLocked()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        {
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File()));
            Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true }));
            Assert.Throws<IOException>(() => AssertNotLocked(dir.File())); // the helper detects the lock
            // The refused opens did not disturb the first instance.
            using var tx = db.BeginWrite();
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginRead())
            Assert.True(tx.TryGet("k"u8, out _));
    }

    [Fact]
    public void Open_ReadOnlyTwiceInOneProcess_SharesTheLockButExcludesAWriter()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        using var r1 = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        using var r2 = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true });
        Assert.Throws<DatabaseLockedException>(() => KvDatabase.Open(dir.File()));
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

    // ================================================================ full database

    [Fact]
    public async Task Put_PastMaxSize_ThrowsDatabaseFullAndAbortsOnlyThatTransaction()
    {
        using var dir = new TempDir();
        const long maxSize = 256 * 1024;
        var options = new KvOptions { MaxSize = maxSize };
        using (var db = KvDatabase.Open(dir.File(), options))
        {
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < 20; i++) tx.Put(Key(i), Value(i, 100));
                tx.Commit();
            }

            var full = db.BeginWrite();
            int written = 0;
            Assert.Throws<DatabaseFullException>(() =>
            {
                for (int i = 1000; i < 2000; i++, written++) full.Put(Key(i), Value(i, 3000));
            });
            Assert.InRange(written, 10, 999);

            // The failed transaction is aborted: every further call says so.
            Assert.Throws<InvalidOperationException>(() => full.Put("x"u8, "y"u8));
            Assert.Throws<InvalidOperationException>(() => full.TryGet(Key(0), out _));
            Assert.Throws<InvalidOperationException>(() => full.Delete(Key(0)));
            Assert.Throws<InvalidOperationException>(() => full.OpenCursor());
            Assert.Throws<InvalidOperationException>(() => full.Commit());
            full.Dispose();

            Assert.True(new FileInfo(dir.File()).Length <= maxSize);

            // Committed data is intact; nothing of the failed transaction is visible.
            using (var tx = db.BeginRead())
            {
                Assert.Equal(1, tx.TxnId);
                for (int i = 0; i < 20; i++)
                {
                    Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
                    Assert.True(v.SequenceEqual(Value(i, 100)));
                }
                Assert.False(tx.TryGet(Key(1000), out _));
            }

            // The writer lock was released: a new, smaller write transaction starts and commits.
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            using (var tx = await db.BeginWriteAsync(cts.Token))
            {
                for (int i = 100; i < 110; i++) tx.Put(Key(i), Value(i, 200));
                tx.Put(Key(5000), Value(5000, 3000));
                tx.Commit();
            }
            using (var tx = db.BeginRead())
            {
                Assert.Equal(2, tx.TxnId);
                Assert.True(tx.TryGet(Key(105), out var v));
                Assert.True(v.SequenceEqual(Value(105, 200)));
                Assert.True(tx.TryGet(Key(5000), out var big));
                Assert.True(big.SequenceEqual(Value(5000, 3000)));
            }
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            Assert.Equal(31, db.GetStats().Main.Entries);
        }
        using (var db = KvDatabase.Open(dir.File(), options))
        {
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            Assert.Equal(31, db.GetStats().Main.Entries);
        }
    }

    /// <summary>Commit after commit until the file is full: wherever the space runs out (in a put, or in the commit
    /// writing the free list), the failure is a DatabaseFullException and the database stays consistent.</summary>
    [Theory]
    [InlineData(400)]
    [InlineData(1000)]
    [InlineData(3000)]
    [InlineData(9000)]
    public void Commit_RepeatedUntilFull_ThrowsDatabaseFullAndKeepsEveryEarlierCommit(int valueLength)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = 256 * 1024 });
        int committed = 0;
        bool full = false;
        for (int i = 0; i < 10_000 && !full; i++)
        {
            var tx = db.BeginWrite();
            try
            {
                tx.Put(Key(i), Value(i, valueLength));
                tx.Put(Key(i % 7), Value(i, 10)); // rewrite an old key too, so commits free pages
                tx.Commit();
                committed = i + 1;
            }
            catch (DatabaseFullException)
            {
                full = true;
            }
            finally
            {
                tx.Dispose();
            }
        }
        Assert.True(full, "the database never filled up");
        Assert.True(committed > 3, $"only {committed} commits fit");
        Assert.Equal(committed, db.LastTxnId);
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
        using (var tx = db.BeginRead())
        {
            for (int i = 7; i < committed; i++)
            {
                Assert.True(tx.TryGet(Key(i), out var v), $"key {i}");
                Assert.True(v.SequenceEqual(Value(i, valueLength)), $"value {i}");
            }
            Assert.False(tx.TryGet(Key(committed), out _));
        }
        // Small writes still fit: deleting frees space for them.
        using (var tx = db.BeginWrite())
        {
            for (int i = 7; i < Math.Min(committed, 20); i++) tx.Delete(Key(i));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put("small"u8, "1"u8);
            tx.Commit();
        }
        report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    [Fact]
    public void Put_ValueLargerThanMaxSize_ThrowsDatabaseFull()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = 256 * 1024 });
        using (var tx = db.BeginWrite())
        {
            tx.Put("small"u8, "1"u8);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var big = new byte[1 << 20];
            Assert.Throws<DatabaseFullException>(() => tx.Put("big"u8, big));
            Assert.Throws<InvalidOperationException>(() => tx.Commit());
        }
        using (var tx = db.BeginWrite())
        {
            tx.Put("after"u8, "2"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("small"u8, out _));
            Assert.True(tx.TryGet("after"u8, out _));
            Assert.False(tx.TryGet("big"u8, out _));
        }
        Assert.True(db.Check().IsValid);
    }

    // ================================================================ key validation

    public static TheoryData<int> BadKeyLengths => new() { 0, 997, 1000, 5000 };

    [Theory]
    [MemberData(nameof(BadKeyLengths))]
    public void KeyOperations_EmptyOrOversizedKey_ThrowArgumentException(int length)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        Assert.Equal(996, db.MaxKeySize);
        var bad = new byte[length];
        Array.Fill(bad, (byte)'k');
        using (var tx = db.BeginWrite())
        {
            Assert.Throws<ArgumentException>(() => tx.Put(bad, "v"u8));
            Assert.Throws<ArgumentException>(() => tx.TryGet(bad, out _));
            Assert.Throws<ArgumentException>(() => tx.Delete(bad));
            using (var c = tx.OpenCursor()) Assert.Throws<ArgumentException>(() => c.Seek(bad));
            var tree = tx.OpenTree("named");
            Assert.Throws<ArgumentException>(() => tree.Put(bad, "v"u8));
            Assert.Throws<ArgumentException>(() => tree.TryGet(bad, out _));
            Assert.Throws<ArgumentException>(() => tree.Delete(bad));
            using (var c = tree.OpenCursor()) Assert.Throws<ArgumentException>(() => c.Seek(bad));
            tx.Put("ok"u8, "v"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.Throws<ArgumentException>(() => tx.TryGet(bad, out _));
            using (var c = tx.OpenCursor()) Assert.Throws<ArgumentException>(() => c.Seek(bad));
            var tree = tx.OpenTree("named");
            Assert.Throws<ArgumentException>(() => tree.TryGet(bad, out _));
        }
    }

    [Fact]
    public void Put_InvalidKey_DoesNotAbortTheTransaction()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.Put("before"u8, "1"u8);
            Assert.Throws<ArgumentException>(() => tx.Put(ReadOnlySpan<byte>.Empty, "v"u8));
            Assert.Throws<ArgumentException>(() => tx.Put(new byte[db.MaxKeySize + 1], "v"u8));
            tx.Put("after"u8, "2"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.True(tx.TryGet("before"u8, out _));
            Assert.True(tx.TryGet("after"u8, out _));
        }
    }

    [Fact]
    public void OpenTree_EmptyOrOversizedName_ThrowsArgumentException()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        Assert.Throws<ArgumentException>(() => tx.OpenTree(""));
        Assert.Throws<ArgumentException>(() => tx.OpenTree(new string('t', db.MaxKeySize + 1)));
        Assert.Throws<ArgumentNullException>(() => tx.OpenTree(null!));
        tx.OpenTree(new string('t', db.MaxKeySize)); // exactly the limit is fine
    }

    [Theory]
    [InlineData(4096, 4)]       // inline value
    [InlineData(4096, 5000)]    // overflow value
    [InlineData(65536, 4)]
    [InlineData(65536, 70000)]
    public void Put_KeyOfExactlyMaxKeySize_Works(int pageSize, int valueLength)
    {
        using var dir = new TempDir();
        const int n = 30;
        byte[] MaxKey(int i)
        {
            // Long shared prefix (equal hints), distinguished only by the last bytes.
            var k = new byte[Limits.MaxKeySize(pageSize)];
            Array.Fill(k, (byte)'k');
            BinaryPrimitives.WriteUInt16BigEndian(k.AsSpan(k.Length - 2), (ushort)i);
            return k;
        }
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { PageSize = pageSize }))
        {
            Assert.Equal(Limits.MaxKeySize(pageSize), db.MaxKeySize);
            using (var tx = db.BeginWrite())
            {
                foreach (int i in Enumerable.Range(0, n).OrderBy(i => (i * 7) % n)) tx.Put(MaxKey(i), Value(i, valueLength));
                Assert.True(tx.TryGet(MaxKey(3), out var v));
                Assert.True(v.SequenceEqual(Value(3, valueLength)));
                tx.Commit();
            }
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            Assert.True(db.GetStats().Main.Depth >= 2, "expected the large keys to split the tree");
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginRead())
            using (var c = tx.OpenCursor())
            {
                int i = 0;
                for (bool ok = c.First(); ok; ok = c.Next(), i++)
                {
                    Assert.True(c.Key.SequenceEqual(MaxKey(i)), $"entry {i}");
                    Assert.True(c.Value.SequenceEqual(Value(i, valueLength)), $"value {i}");
                }
                Assert.Equal(n, i);
                Assert.True(c.Seek(MaxKey(17)));
                Assert.True(c.Key.SequenceEqual(MaxKey(17)));
            }
            using (var tx = db.BeginWrite())
            {
                for (int i = 0; i < n; i += 2) Assert.True(tx.Delete(MaxKey(i)));
                tx.Commit();
            }
            Assert.Equal(n / 2, db.GetStats().Main.Entries);
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
        }
    }

    // ================================================================ use after end

    [Fact]
    public void WriteTransaction_AfterCommit_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        tx.Put("k"u8, "v"u8);
        tx.Commit();
        AssertWriteTransactionEnded(tx);
        tx.Dispose(); // still harmless
        using var read = db.BeginRead();
        Assert.True(read.TryGet("k"u8, out _));
    }

    [Fact]
    public void WriteTransaction_AfterDispose_ThrowsObjectDisposedAndDiscardsWrites()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        tx.Put("k"u8, "v"u8);
        tx.Dispose();
        tx.Dispose();
        AssertWriteTransactionEnded(tx);
        using var read = db.BeginRead();
        Assert.False(read.TryGet("k"u8, out _));
    }

    private static void AssertWriteTransactionEnded(WriteTransaction tx)
    {
        Assert.Throws<ObjectDisposedException>(() => tx.Put("a"u8, "b"u8));
        Assert.Throws<ObjectDisposedException>(() => tx.Delete("k"u8));
        Assert.Throws<ObjectDisposedException>(() => tx.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => tx.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => tx.OpenTree("t"));
        Assert.Throws<ObjectDisposedException>(() => tx.TryOpenTree("t", out _));
        Assert.Throws<ObjectDisposedException>(() => tx.GetTreeNames());
        Assert.Throws<ObjectDisposedException>(() => tx.DeleteTree("t"));
        Assert.Throws<ObjectDisposedException>(() => tx.Commit());
        Assert.Throws<ObjectDisposedException>(() => tx.Commit(Durability.Deferred));
    }

    [Fact]
    public void ReadTransaction_AfterDispose_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginRead();
        tx.Dispose();
        tx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tx.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => tx.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => tx.OpenTree("t"));
        Assert.Throws<ObjectDisposedException>(() => tx.TryOpenTree("t", out _));
        Assert.Throws<ObjectDisposedException>(() => tx.GetTreeNames());
    }

    [Fact]
    public void Cursor_AfterItsTransactionEnded_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.Put("a"u8, "1"u8);
            tx.Put("b"u8, "2"u8);
            var wc = tx.OpenCursor();
            Assert.True(wc.First());
            tx.Commit();
            Assert.Throws<ObjectDisposedException>(() => wc.Next());
            Assert.Throws<ObjectDisposedException>(() => { _ = wc.Key; });
        }
        var rtx = db.BeginRead();
        var c = rtx.OpenCursor();
        Assert.True(c.First());
        Assert.Equal("a", Bytes.Str(c.Key));
        rtx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => c.Next());
        Assert.Throws<ObjectDisposedException>(() => c.Prev());
        Assert.Throws<ObjectDisposedException>(() => c.First());
        Assert.Throws<ObjectDisposedException>(() => c.Last());
        Assert.Throws<ObjectDisposedException>(() => c.Seek("a"u8));
        Assert.Throws<ObjectDisposedException>(() => { _ = c.Key; });
        Assert.Throws<ObjectDisposedException>(() => { _ = c.Value; });
    }

    [Fact]
    public void Cursor_AfterDispose_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite()) { w.Put("a"u8, "1"u8); w.Commit(); }
        using var tx = db.BeginRead();
        var c = tx.OpenCursor();
        Assert.True(c.First());
        c.Dispose();
        Assert.False(c.IsPositioned);
        Assert.Throws<ObjectDisposedException>(() => c.First());
        Assert.Throws<ObjectDisposedException>(() => c.Next());
        Assert.Throws<ObjectDisposedException>(() => { _ = c.Key; });
        Assert.True(tx.TryGet("a"u8, out _)); // the transaction is unaffected
    }

    [Fact]
    public void Cursor_NotPositioned_KeyThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite()) { w.Put("a"u8, "1"u8); w.Commit(); }
        using var tx = db.BeginRead();
        using var c = tx.OpenCursor();
        Assert.Throws<InvalidOperationException>(() => { _ = c.Key; });
        Assert.True(c.First());
        Assert.False(c.Next());
        Assert.False(c.IsPositioned);
        Assert.Throws<InvalidOperationException>(() => { _ = c.Value; });
        Assert.False(c.Seek("b"u8));
        Assert.Throws<InvalidOperationException>(() => { _ = c.Key; });
    }

    [Fact]
    public void TreeHandle_AfterItsTransactionEnded_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        KvTree writeTree;
        using (var tx = db.BeginWrite())
        {
            writeTree = tx.OpenTree("t");
            writeTree.Put("k"u8, "v"u8);
            tx.Commit();
        }
        Assert.Throws<ObjectDisposedException>(() => writeTree.Put("x"u8, "y"u8));
        Assert.Throws<ObjectDisposedException>(() => writeTree.Delete("k"u8));
        Assert.Throws<ObjectDisposedException>(() => writeTree.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => writeTree.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => _ = writeTree.Count);
        Assert.Equal("t", writeTree.Name);

        KvTree readTree;
        using (var tx = db.BeginRead())
        {
            readTree = tx.OpenTree("t");
            Assert.Equal(1, readTree.Count);
        }
        Assert.Throws<ObjectDisposedException>(() => readTree.TryGet("k"u8, out _));
        Assert.Throws<ObjectDisposedException>(() => readTree.OpenCursor());
        Assert.Throws<ObjectDisposedException>(() => _ = readTree.Count);
    }

    // ================================================================ read-only misuse

    [Fact]
    public async Task BeginWrite_OnReadOnlyDatabase_ThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { ReadOnly = true }))
        {
            Assert.Throws<InvalidOperationException>(() => db.BeginWrite());
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await db.BeginWriteAsync());
            db.Flush(); // nothing to flush; not an error
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("k"u8, out var v));
                Assert.Equal("v", Bytes.Str(v));
            }
            Assert.True(db.Check().IsValid);
        }
    }

    [Fact]
    public void TreeHandle_FromReadTransaction_PutAndDeleteThrowInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("t").Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            var tree = tx.OpenTree("t");
            Assert.Throws<InvalidOperationException>(() => tree.Put("k"u8, "w"u8));
            Assert.Throws<InvalidOperationException>(() => tree.Delete("k"u8));
            Assert.True(tree.TryGet("k"u8, out var v));
            Assert.Equal("v", Bytes.Str(v));
        }
    }

    [Fact]
    public void ReadTransaction_OpenTreeOfMissingTree_ThrowsKeyNotFound()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("exists").Put("k"u8, "v"u8);
            tx.Commit();
        }
        using var rtx = db.BeginRead();
        Assert.Throws<KeyNotFoundException>(() => rtx.OpenTree("missing"));
        Assert.False(rtx.TryOpenTree("missing", out var none));
        Assert.Null(none);
        Assert.True(rtx.TryOpenTree("exists", out var tree));
        Assert.Equal("exists", tree.Name);
        Assert.Equal(new[] { "exists" }, rtx.GetTreeNames());
    }

    // ================================================================ options and open

    [Theory]
    [InlineData(3000)]
    [InlineData(2048)]
    [InlineData(131072)]
    [InlineData(0)]
    [InlineData(-4096)]
    [InlineData(6144)]
    public void Open_InvalidPageSize_ThrowsArgumentOutOfRangeAndCreatesNothing(int pageSize)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), new KvOptions { PageSize = pageSize }));
        Assert.Equal(nameof(KvOptions.PageSize), e.ParamName);
        Assert.False(File.Exists(dir.File()));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Open_OtherInvalidOptions_ThrowArgumentOutOfRange()
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), new KvOptions { MaxSize = 4096 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), new KvOptions { MaxReaders = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), new KvOptions { Durability = (Durability)7 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), new KvOptions { CreateMode = 0x200 }));
        Assert.False(File.Exists(dir.File()));
    }

    [Fact]
    public void Open_EmptyPath_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => KvDatabase.Open(""));
        Assert.Throws<ArgumentNullException>(() => KvDatabase.Open(null!));
    }

    [Fact]
    public void Open_ReadOnlyMissingFile_ThrowsFileNotFoundAndCreatesNothing()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => KvDatabase.Open(dir.File("missing.mkv"), new KvOptions { ReadOnly = true }));
        Assert.False(File.Exists(dir.File("missing.mkv")));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Open_ExistingFileLargerThanMaxSize_ThrowsArgumentException()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, new byte[100_000]);
            tx.Commit();
        }
        long length = new FileInfo(dir.File()).Length;
        Assert.Throws<ArgumentException>(() => KvDatabase.Open(dir.File(), new KvOptions { MaxSize = length - 4096 }));
        using var again = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = length }); // lock was released
        using var rtx = again.BeginRead();
        Assert.True(rtx.TryGet("k"u8, out _));
    }

    // ================================================================ database disposal

    [Fact]
    public async Task Database_AfterDispose_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        var db = KvDatabase.Open(dir.File());
        db.Dispose();
        db.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => db.BeginRead());
        Assert.Throws<ObjectDisposedException>(() => db.BeginWrite());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await db.BeginWriteAsync());
        Assert.Throws<ObjectDisposedException>(() => db.Check());
        Assert.Throws<ObjectDisposedException>(() => db.GetStats());
        Assert.Throws<ObjectDisposedException>(() => db.Flush());
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
        WriteTransaction writer = null!; // a write transaction left open, started on another thread
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

    // ================================================================ failed flush

    /// <summary>Real mapped storage whose flushes can be made to fail, as msync does on EIO.</summary>
    private sealed unsafe class FailingStorage : MmapKv.Storage.IStorage
    {
        private readonly MmapKv.Storage.IStorage _inner;
        public bool FailFlush;
        public FailingStorage(string path, long capacity) =>
            _inner = MmapKv.Storage.MappedStorage.Open(path, readOnly: false, capacity, createNew: false, 0);
        public byte* Base => _inner.Base;
        public long Capacity => _inner.Capacity;
        public long Length => _inner.Length;
        public bool IsReadOnly => false;
        public void Grow(long newLength) => _inner.Grow(newLength);
        public void Shrink(long newLength) => _inner.Shrink(newLength);
        public void VerifyLength() => _inner.VerifyLength();
        public void Write(long offset, ReadOnlySpan<byte> data) => _inner.Write(offset, data);
        public void Flush(long offset, long length)
        {
            if (FailFlush) throw new StorageFailedException("simulated msync failure", 5);
            _inner.Flush(offset, length);
        }
        public void Sync()
        {
            if (FailFlush) throw new StorageFailedException("simulated fsync failure", 5);
            _inner.Sync();
        }
        public void CloseFile() => _inner.CloseFile();
        public void Dispose() => _inner.Dispose();
    }

    [Fact]
    public void Commit_WhenFlushFails_ThrowsStorageFailedAndRefusesWritesUntilReopened()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        var options = new KvOptions();
        var storage = new FailingStorage(dir.File(), options.MaxSize);
        using (var db = KvDatabase.Open(dir.File(), storage, options))
        {
            using (var tx = db.BeginWrite())
            {
                tx.Put("durable"u8, "1"u8);
                tx.Commit();
            }
            storage.FailFlush = true;
            using (var tx = db.BeginWrite())
            {
                tx.Put("unknown"u8, "2"u8);
                Assert.Throws<StorageFailedException>(() => tx.Commit());
            }
            // Writes are refused; reads of committed data keep working.
            Assert.Throws<StorageFailedException>(() => db.BeginWrite());
            Assert.Equal(1, db.DurableTxnId);
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("durable"u8, out var v));
                Assert.Equal("1", Bytes.Str(v));
            }
            Assert.True(db.Check().IsValid);
            storage.FailFlush = false; // even once the device recovers, the poisoned instance stays read-only
            Assert.Throws<StorageFailedException>(() => db.BeginWrite());
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginRead())
                Assert.True(tx.TryGet("durable"u8, out _));
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
            using (var tx = db.BeginWrite())
            {
                tx.Put("again"u8, "3"u8);
                tx.Commit();
            }
        }
    }

    /// <summary>
    /// Regression: Flush() targeted "the pending commit", which a failed flush had already taken from the queue,
    /// so a second Flush() returned success for commits that were never made durable. It now targets the newest
    /// commit handed over and keeps failing. After a failed flush, the commits it carried are not durable.
    /// </summary>
    [Fact]
    public void Flush_AfterAFailedFlush_KeepsThrowingStorageFailed()
    {
        using var dir = new TempDir();
        KvDatabase.Open(dir.File()).Dispose();
        var options = new KvOptions { Durability = Durability.Deferred };
        var storage = new FailingStorage(dir.File(), options.MaxSize);
        using var db = KvDatabase.Open(dir.File(), storage, options);
        using (var tx = db.BeginWrite())
        {
            tx.Put("deferred"u8, "1"u8);
            tx.Commit();
        }
        Assert.Equal(1, db.LastTxnId);
        Assert.Equal(0, db.DurableTxnId);
        storage.FailFlush = true;
        Assert.Throws<StorageFailedException>(() => db.Flush());
        storage.FailFlush = false;
        Assert.Equal(0, db.DurableTxnId); // commit 1 is still not durable...
        Assert.Throws<StorageFailedException>(() => db.Flush()); // ...so Flush must not claim it is
    }

    // ================================================================ deleted trees

    [Fact]
    public void TreeHandle_AfterDeleteTreeInSameTransaction_ThrowsInvalidOperation()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("t");
            for (int i = 0; i < 200; i++) t.Put(Key(i), Value(i, 100));
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var tree = tx.OpenTree("t");
            var cursor = tree.OpenCursor();
            Assert.True(cursor.First());
            Assert.True(tx.DeleteTree("t"));
            Assert.Throws<InvalidOperationException>(() => tree.Put("k"u8, "v"u8));
            Assert.Throws<InvalidOperationException>(() => tree.Delete(Key(0)));
            Assert.Throws<InvalidOperationException>(() => tree.TryGet(Key(0), out _));
            Assert.Throws<InvalidOperationException>(() => tree.OpenCursor());
            Assert.Throws<InvalidOperationException>(() => _ = tree.Count);
            Assert.Throws<InvalidOperationException>(() => cursor.Next());
            Assert.False(tx.TryOpenTree("t", out _));
            Assert.False(tx.DeleteTree("t"));
            // The transaction itself is fine.
            tx.Put("main"u8, "1"u8);
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            Assert.False(tx.TryOpenTree("t", out _));
            Assert.Throws<KeyNotFoundException>(() => tx.OpenTree("t"));
            Assert.True(tx.TryGet("main"u8, out _));
        }
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    [Fact]
    public void DeleteTree_ThenOpenSameName_GivesANewEmptyTreeAndTheOldHandleStaysDead()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("t").Put("old"u8, "1"u8);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var old = tx.OpenTree("t");
            Assert.True(tx.DeleteTree("t"));
            var fresh = tx.OpenTree("t");
            Assert.Equal(0, fresh.Count);
            fresh.Put("new"u8, "2"u8);
            Assert.Throws<InvalidOperationException>(() => old.TryGet("old"u8, out _));
            tx.Commit();
        }
        using (var tx = db.BeginRead())
        {
            var t = tx.OpenTree("t");
            Assert.Equal(1, t.Count);
            Assert.False(t.TryGet("old"u8, out _));
            Assert.True(t.TryGet("new"u8, out _));
        }
        Assert.True(db.Check().IsValid);
    }

    /// <summary>Regression: GetTreeNames() in a write transaction read only the committed catalog, missing trees
    /// created in the transaction and listing trees deleted in it. A write transaction sees its own writes, so its
    /// list includes trees it created and omits trees it deleted, consistently with
    /// <see cref="KvTransaction.TryOpenTree"/>.</summary>
    [Fact]
    public void WriteTransaction_GetTreeNames_ReflectsTreesCreatedAndDeletedInIt()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("b").Put("k"u8, "v"u8);
            tx.OpenTree("d").Put("k"u8, "v"u8);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            Assert.Equal(new[] { "b", "d" }, tx.GetTreeNames());
            Assert.True(tx.DeleteTree("b"));
            tx.OpenTree("a");
            tx.OpenTree("c").Put("k"u8, "v"u8);
            Assert.False(tx.TryOpenTree("b", out _));
            Assert.True(tx.TryOpenTree("a", out _));
            Assert.Equal(new[] { "a", "c", "d" }, tx.GetTreeNames());
            tx.Commit();
        }
        using (var tx = db.BeginRead())
            Assert.Equal(new[] { "a", "c", "d" }, tx.GetTreeNames());
    }

    // ================================================================ cursor across writes

    private static KvDatabase WithKeys(TempDir dir, IEnumerable<string> keys)
    {
        var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        foreach (string k in keys) tx.Put(Bytes.Of(k), Bytes.Of("v" + k));
        tx.Commit();
        return db;
    }

    [Fact]
    public void Cursor_CurrentKeyDeleted_NextGoesToSuccessor()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c", "d", "e" });
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        Assert.True(c.Seek("c"u8));
        Assert.Equal("c", Bytes.Str(c.Key));
        Assert.True(tx.Delete("c"u8));
        Assert.Throws<InvalidOperationException>(() => { _ = c.Key; }); // its entry is gone
        Assert.True(c.Next());
        Assert.Equal("d", Bytes.Str(c.Key));
        Assert.Equal("vd", Bytes.Str(c.Value));
        Assert.True(c.Next());
        Assert.Equal("e", Bytes.Str(c.Key));
    }

    [Fact]
    public void Cursor_CurrentKeyDeleted_PrevGoesToPredecessor()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c", "d", "e" });
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        Assert.True(c.Seek("c"u8));
        Assert.True(tx.Delete("c"u8));
        Assert.True(c.Prev());
        Assert.Equal("b", Bytes.Str(c.Key));
        Assert.True(c.Prev());
        Assert.Equal("a", Bytes.Str(c.Key));
        Assert.False(c.Prev());
    }

    [Fact]
    public void Cursor_LastKeyDeleted_NextEndsAndPrevGoesToNewLast()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c" });
        using var tx = db.BeginWrite();
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.Last());
            Assert.True(tx.Delete("c"u8));
            Assert.False(c.Next());
        }
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.Last());
            Assert.True(tx.Delete("b"u8));
            Assert.True(c.Prev());
            Assert.Equal("a", Bytes.Str(c.Key));
        }
    }

    [Fact]
    public void Cursor_FirstKeyDeleted_PrevEndsAndNextGoesToNewFirst()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c" });
        using var tx = db.BeginWrite();
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.First());
            Assert.True(tx.Delete("a"u8));
            Assert.False(c.Prev());
        }
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.First());
            Assert.True(tx.Delete("b"u8));
            Assert.True(c.Next());
            Assert.Equal("c", Bytes.Str(c.Key));
        }
    }

    [Fact]
    public void Cursor_KeysInsertedAroundCurrent_AreVisitedByNextAndPrev()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "b", "d", "f" });
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        Assert.True(c.Seek("d"u8));
        tx.Put("e"u8, "ve"u8);
        tx.Put("c"u8, "vc"u8);
        Assert.Equal("d", Bytes.Str(c.Key)); // still on its key
        Assert.True(c.Next());
        Assert.Equal("e", Bytes.Str(c.Key));
        tx.Put("d"u8, "changed"u8);
        Assert.True(c.Prev());
        Assert.Equal("d", Bytes.Str(c.Key));
        Assert.Equal("changed", Bytes.Str(c.Value));
        Assert.True(c.Prev());
        Assert.Equal("c", Bytes.Str(c.Key));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Cursor_DeletingEachKeyWhileIterating_VisitsEveryKeyOnce(bool backwards)
    {
        using var dir = new TempDir();
        var keys = Enumerable.Range(0, 3000).Select(i => $"k{i:D5}").ToArray();
        using var db = WithKeys(dir, keys);
        Assert.True(db.GetStats().Main.Depth >= 2);
        using (var tx = db.BeginWrite())
        using (var c = tx.OpenCursor())
        {
            var visited = new List<string>();
            for (bool ok = backwards ? c.Last() : c.First(); ok; ok = backwards ? c.Prev() : c.Next())
            {
                string k = Bytes.Str(c.Key);
                Assert.Equal("v" + k, Bytes.Str(c.Value));
                visited.Add(k);
                Assert.True(tx.Delete(Bytes.Of(k)), k);
            }
            Assert.Equal(backwards ? keys.Reverse() : keys, visited);
            Assert.False(c.First());
            tx.Commit();
        }
        Assert.Equal(0, db.GetStats().Main.Entries);
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    [Fact]
    public void Cursor_DeletingEveryOtherKeyAhead_NextSkipsDeletedEntries()
    {
        using var dir = new TempDir();
        var keys = Enumerable.Range(0, 2000).Select(i => $"k{i:D5}").ToArray();
        using var db = WithKeys(dir, keys);
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        var visited = new List<string>();
        for (bool ok = c.First(); ok; ok = c.Next())
        {
            string k = Bytes.Str(c.Key);
            visited.Add(k);
            int i = int.Parse(k[1..]);
            if (i + 1 < keys.Length) Assert.True(tx.Delete(Bytes.Of(keys[i + 1]))); // the successor goes
        }
        Assert.Equal(keys.Where((_, i) => i % 2 == 0), visited);
    }
}
