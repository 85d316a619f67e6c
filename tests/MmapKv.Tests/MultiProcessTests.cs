using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Real processes sharing one database (docs/durability.md §14): writers in several processes, readers checking
/// an invariant on every snapshot, SIGKILL while a process holds the writer lock, a reader slot, or a Deferred
/// commit nobody has flushed, and SIGKILL of writer processes at random moments with acknowledged Immediate commits. The children are MmapKv.CrashChild's shared modes (tests/MmapKv.CrashChild/SharedModes.cs).
/// </summary>
public class MultiProcessTests(ITestOutputHelper output)
{
    // MMAPKV_TEST_MAX_SIZE: a smaller map where a 256 GiB one cannot be had (QEMU user mode, .ci/arm64).
    private static readonly KvOptions NoTimer = new()
    {
        DeferredFlushInterval = TimeSpan.Zero,
        MaxSize = long.TryParse(Environment.GetEnvironmentVariable("MMAPKV_TEST_MAX_SIZE"), out long max) ? max : 256L << 30,
    };

    /// <summary>
    /// A child process with its stdout lines collected. Each stream is read by a thread of its own, with blocking
    /// reads: the asynchronous line reader occupies a thread-pool thread per stream in a blocking read on Windows,
    /// and under Wine on a loaded machine the pool did not grow for a minute, so no line of four children arrived
    /// and their writes to the full pipes blocked them.
    /// </summary>
    internal sealed class Child : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = new();
        private readonly StringBuilder _errors = new();
        private readonly SemaphoreSlim _lineArrived = new(0);
        private readonly Thread _stdout, _stderr;

        /// <summary>
        /// Starts MmapKv.CrashChild with <paramref name="args"/> (<see cref="ChildLauncher"/>).
        /// </summary>
        public Child(params string[] args)
        {
            _process = Process.Start(ChildLauncher.For(ProcessKillTests.ChildDll, args))!;
            _stdout = ReadLines(_process.StandardOutput, line =>
            {
                lock (_lines) _lines.Add(line);
                _lineArrived.Release();
            });
            _stderr = ReadLines(_process.StandardError, line => { lock (_errors) _errors.AppendLine(line); });
        }

        private static Thread ReadLines(StreamReader from, Action<string> onLine)
        {
            var thread = new Thread(() =>
            {
                try
                {
                    while (from.ReadLine() is { } line) onLine(line);
                }
                catch (IOException) { } // the pipe broke: the child is gone
                catch (ObjectDisposedException) { } // disposed while reading
            }) { IsBackground = true, Name = "child output" };
            thread.Start();
            return thread;
        }

        /// <summary>Once the child has exited: waits until its output has been read to the end.</summary>
        private void DrainOutput()
        {
            _process.WaitForExit();
            // A grandchild could hold the pipes open; the children start none, so the ends arrive with the exit.
            _stdout.Join(TimeSpan.FromSeconds(30));
            _stderr.Join(TimeSpan.FromSeconds(30));
        }

        public int Pid => _process.Id;

        public bool HasExited => _process.HasExited;

        /// <summary>The stdout lines so far (all of them once the child has been killed or has exited).</summary>
        public List<string> Lines { get { lock (_lines) return [.. _lines]; } }

        /// <summary>The first line starting with <paramref name="prefix"/>, waiting up to a minute.</summary>
        /// <summary>The first line that starts with one of <paramref name="prefixes"/>, waiting up to 60 s for it.</summary>
        public string WaitFor(params string[] prefixes)
        {
            string? Found()
            {
                lock (_lines)
                    foreach (string l in _lines)
                        if (prefixes.Any(p => l.StartsWith(p, StringComparison.Ordinal))) return l;
                return null;
            }
            string wanted = string.Join("' or '", prefixes);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                if (Found() is { } line) return line;
                if (_process.HasExited && _lineArrived.CurrentCount == 0)
                {
                    DrainOutput();
                    if (Found() is { } last) return last;
                    throw new Xunit.Sdk.XunitException($"child exited ({_process.ExitCode}) before '{wanted}': {string.Join(" | ", Lines)} {_errors}");
                }
                if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"no '{wanted}' from the child within 60 s: {string.Join(" | ", Lines)} {_errors}");
                _lineArrived.Wait(TimeSpan.FromMilliseconds(200));
            }
        }

        public int WaitForExit()
        {
            if (!_process.WaitForExit(TimeSpan.FromMinutes(5))) throw new Xunit.Sdk.XunitException("child did not exit within 5 minutes");
            DrainOutput();
            return _process.ExitCode;
        }

        public void Kill()
        {
            // SIGKILL on Unix, TerminateProcess on Windows. The child starts no processes of its own, and walking the
            // tree fails under Wine (a system process there has no valid start time).
            _process.Kill();
            DrainOutput();
        }

        public string Output { get { lock (_lines) return string.Join("\n", _lines) + _errors; } }

        public void Dispose()
        {
            try { if (!_process.HasExited) Kill(); } catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    private static long ReadLong(ReadTransaction tx, ReadOnlySpan<byte> key) =>
        tx.TryGet(key, out var v) ? BinaryPrimitives.ReadInt64LittleEndian(v) : 0;

    /// <summary>The shared counter n, the sum of the ten buckets, and each writer's own counter (the acked writers' keys).</summary>
    private static (long N, long Buckets, long[] Writers) ReadCounters(ReadTransaction tx, int writers)
    {
        long buckets = 0;
        for (int b = 0; b < 10; b++) buckets += ReadLong(tx, Encoding.UTF8.GetBytes($"bucket/{b}"));
        var own = new long[writers];
        for (int w = 0; w < writers; w++) own[w] = ReadLong(tx, Encoding.UTF8.GetBytes($"writer/{w}"));
        return (ReadLong(tx, "n"u8), buckets, own);
    }

    /// <summary>
    /// Four processes open one database that does not exist yet, at the same moment: one creates it and the others
    /// open what it published, mapped before its creator's first store (under Wine, three of four failed there,
    /// the Windows backend being unable to map past a view that ends off the allocation granularity). Each commits,
    /// and the counters add up.
    /// </summary>
    [Fact]
    public void FourProcessesOpeningANewDatabaseAtOnce_AllOpenAndCommit()
    {
        const int writers = 4;
        using var dir = new TempDir();
        string path = dir.File();
        var children = Enumerable.Range(0, writers)
            .Select(w => new Child("--acked-writer", path, w.ToString(System.Globalization.CultureInfo.InvariantCulture), writers.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .ToArray();
        try
        {
            foreach (var c in children) c.WaitFor("ACK");
            foreach (var c in children) c.Kill();
            foreach (var c in children) Assert.DoesNotContain(c.Lines, l => l.StartsWith("BAD", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var c in children) c.Dispose();
        }
        using var db = KvDatabase.Open(path, NoTimer);
        Assert.True(db.Check().IsValid);
        using var tx = db.BeginRead();
        var (n, buckets, own) = ReadCounters(tx, writers);
        for (int w = 0; w < writers; w++) Assert.True(own[w] > 0, $"writer {w} has no commit in the file");
        Assert.Equal(n, buckets);
        Assert.Equal(n, own.Sum());
    }

    /// <summary>
    /// Four writer processes increment shared counters; two reader processes check on every snapshot they take that
    /// the buckets sum to the counter. At the end the counter is exact, and the file passes Check().
    /// </summary>
    [Theory]
    [InlineData("immediate")]
    [InlineData("deferred")]
    public void FourWriterProcesses_TwoReaderProcesses_CountersStayExact(string durability)
    {
        using var dir = new TempDir();
        string db = dir.File();
        KvDatabase.Open(db, NoTimer).Dispose();
        const int writers = 4, iterations = 150;
        var readers = Enumerable.Range(0, 2).Select(_ => new Child("--sum-reader", db, "20")).ToList();
        var children = Enumerable.Range(0, writers).Select(_ => new Child("--counter", db, iterations.ToString(System.Globalization.CultureInfo.InvariantCulture), durability)).ToList();
        try
        {
            foreach (var c in children)
            {
                int code = c.WaitForExit();
                Assert.True(code == 0, $"writer exited {code}: {c.Output}");
                c.WaitFor("DONE");
            }
            foreach (var r in readers)
            {
                int code = r.WaitForExit();
                output.WriteLine("reader: " + r.Output);
                Assert.True(code == 0, r.Output);
                Assert.StartsWith("OK", r.WaitFor("OK"));
            }
        }
        finally
        {
            foreach (var c in children.Concat(readers)) c.Dispose();
        }
        using var d = KvDatabase.Open(db, NoTimer);
        using (var tx = d.BeginRead())
        {
            var (n, buckets, _) = ReadCounters(tx, 0);
            Assert.Equal(writers * iterations, n);
            Assert.Equal(n, buckets);
        }
        var report = d.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    /// <summary>
    /// SIGKILL at random moments (docs/durability.md §14.4): three writer processes commit with Durability.Immediate
    /// in a loop, each acknowledging a commit on stdout only after Commit returned, and holding short read
    /// transactions on a second thread; a reader process checks the sum invariant on every snapshot. Round after round
    /// the parent kills a random writer at a random moment (in its open, inside a write transaction, inside a commit's
    /// flush, holding a reader slot) and starts it again. This process keeps the database open all along, so the lock
    /// file is never rebuilt: only reclamation (L7) can free the dead processes' slots. At the end every acknowledged
    /// commit is there, the totals agree, no dead process is listed as a reader, Check() passes, and the file stops
    /// growing (nothing the dead held stays held). MMAPKV_MULTIPROCESS_KILL_ROUNDS sets the rounds (default 6).
    /// </summary>
    [Fact]
    public void WritersKilledAtRandomMoments_KeepEveryAcknowledgedImmediateCommit()
    {
        const int writers = 3;
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_MULTIPROCESS_KILL_ROUNDS"), out int r) && r > 0 ? r : 6;
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}, {rounds} rounds");
        var rng = new Random(seed);
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, NoTimer);
        var acked = new long[writers];
        long acks = 0;
        int kills = 0, killsHoldingASlot = 0;
        var dead = new List<int>();
        Child StartWriter(int w) => new("--acked-writer", path, w.ToString(System.Globalization.CultureInfo.InvariantCulture), writers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Collects a killed writer's acknowledgements (its output is complete once it has been killed).
        void Collect(Child c, int w)
        {
            foreach (string line in c.Lines)
            {
                Assert.False(line.StartsWith("BAD", StringComparison.Ordinal), $"writer {w}: {line}");
                if (!line.StartsWith("ACK ", StringComparison.Ordinal)) continue;
                string[] parts = line.Split(' ');
                Assert.Equal(w, int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                long counter = long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(counter > acked[w], $"writer {w} acknowledged {counter} after {acked[w]}: a commit went back");
                acked[w] = counter;
                acks++;
            }
        }
        void Kill(Child c, int w)
        {
            dead.Add(c.Pid);
            if (db.GetStats().Readers.Any(x => x.ProcessId == c.Pid)) killsHoldingASlot++;
            Assert.False(c.HasExited, $"writer {w} exited by itself: {c.Output}");
            c.Kill();
            kills++;
            Collect(c, w);
        }
        var reader = new Child("--sum-reader", path, "3600", writers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        int readerPid = reader.Pid;
        var live = Enumerable.Range(0, writers).Select(StartWriter).ToArray();
        var watch = Stopwatch.StartNew();
        try
        {
            foreach (var c in live) c.WaitFor("ACK");
            for (int round = 0; round < rounds; round++)
            {
                int w = rng.Next(writers);
                Thread.Sleep(rng.Next(0, 1000));
                Kill(live[w], w);
                live[w].Dispose();
                live[w] = StartWriter(w);
                // Some kills land in the next open, before the first commit; the others after it has committed.
                if (rng.Next(4) == 0) Thread.Sleep(rng.Next(0, 300));
                else live[w].WaitFor("ACK");
                AssertNoDeadReaders(db, dead);
            }
            Thread.Sleep(rng.Next(0, 500));
            for (int w = 0; w < writers; w++) Kill(live[w], w);
            Assert.False(reader.HasExited, "the reader process stopped: " + reader.Output);
            reader.Kill();
            dead.Add(readerPid);
            var lines = reader.Lines;
            Assert.DoesNotContain(lines, l => l.StartsWith("BAD", StringComparison.Ordinal));
            string? progress = lines.LastOrDefault(l => l.StartsWith("READ ", StringComparison.Ordinal));
            output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: {kills} kills ({killsHoldingASlot} while the victim held a reader slot), {acks} commits acknowledged; reader: {progress}");
            Assert.NotNull(progress);
        }
        finally
        {
            foreach (var c in live.Append(reader)) c.Dispose();
        }
        AssertNoDeadReaders(db, dead);
        Assert.DoesNotContain(db.GetStats().Readers, x => x.ProcessId != Environment.ProcessId);

        using (var tx = db.BeginRead())
        {
            var (n, buckets, own) = ReadCounters(tx, writers);
            for (int w = 0; w < writers; w++)
            {
                long counter = own[w];
                output.WriteLine($"writer {w}: last acknowledged {acked[w]}, in the file {counter}");
                Assert.True(counter >= acked[w], $"writer {w}: acknowledged commit {acked[w]} lost, the file has {counter}");
                Assert.True(acked[w] > 0, $"writer {w} never acknowledged a commit");
            }
            Assert.Equal(n, buckets);
            Assert.Equal(n, own.Sum());
            Assert.True(n >= acks, $"{acks} commits acknowledged, n = {n}");
        }
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());

        // Nothing a dead process held stays held: after a takeover and a few commits to release what the last
        // commits freed, rewriting the fillers reuses free pages and never grows the file.
        for (int i = 0; i < 10; i++) RewriteFillers(db, rng);
        var before = db.GetStats();
        for (int i = 0; i < 100; i++) RewriteFillers(db, rng);
        var after = db.GetStats();
        output.WriteLine($"file {after.FileSize} bytes, {after.PageCount} pages, {after.FreePages} free, {after.HeldFreePages} held");
        Assert.Equal(before.PageCount, after.PageCount);
        // About 300 pages are live; a snapshot pinned by a dead reader for the whole run would have kept every page
        // freed since (some 10 per commit, thousands of commits).
        Assert.True(after.PageCount * after.PageSize <= 16 << 20, $"{after.PageCount} pages after {acks} commits");
        Assert.True(db.Check().IsValid);
    }

    /// <summary>GetStats frees dead openers' slots (L7); Windows may release a dead process's locks a moment late.</summary>
    private static void AssertNoDeadReaders(KvDatabase db, List<int> dead)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var listed = db.GetStats().Readers.Where(x => dead.Contains(x.ProcessId)).ToList();
            if (listed.Count == 0) return;
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
                Assert.Fail($"dead processes still listed as readers 10 s after their kill: {string.Join(", ", listed.Select(x => $"pid {x.ProcessId} snapshot {x.SnapshotTxnId}"))}");
            Thread.Sleep(50);
        }
    }

    private static void RewriteFillers(KvDatabase db, Random rng)
    {
        using var tx = db.BeginWrite();
        for (int f = 0; f < 12; f++) tx.Put(Encoding.UTF8.GetBytes($"filler/{rng.Next(1500):D4}"), new byte[rng.Next(10, 400)]);
        tx.Commit(Durability.Immediate);
    }

    /// <summary>
    /// A process killed while it holds the writer lock: the other process's writer waits while it lives, proceeds at
    /// once after the kill, and nothing of the killed transaction is visible.
    /// </summary>
    [Fact]
    public void WriterKilledHoldingTheWriterLock_TheNextWriterProceeds()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, NoTimer);
        using (var tx = db.BeginWrite())
        {
            tx.Put("before"u8, "1"u8);
            tx.Commit();
        }
        using var child = new Child("--hold-writer", path);
        child.WaitFor("ACK writing");
        Assert.Throws<TimeoutException>(() => db.BeginWrite(TimeSpan.FromMilliseconds(200)));
        child.Kill();
        var watch = Stopwatch.StartNew();
        using (var tx = db.BeginWrite(TimeSpan.FromSeconds(10)))
        {
            output.WriteLine($"writer lock taken {watch.Elapsed.TotalMilliseconds:0} ms after the kill");
            Assert.False(tx.TryGet("uncommitted/0000"u8, out _));
            tx.Put("after"u8, "2"u8);
            tx.Commit();
        }
        using (var r = db.BeginRead())
        {
            Assert.True(r.TryGet("before"u8, out _));
            Assert.True(r.TryGet("after"u8, out _));
            Assert.False(r.TryGet("uncommitted/0000"u8, out _));
        }
        Assert.True(db.Check().IsValid);
    }

    /// <summary>
    /// A process killed while it holds a reader slot: its slot is listed with its pid while it lives, freed after
    /// the kill (L7), and the pages it held return to the free space: rewriting the same keys stops growing the
    /// file.
    /// </summary>
    [Fact]
    public void ReaderKilledHoldingASlot_IsReclaimed_AndItsPagesReturn()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, NoTimer);
        Rewrite(db, 0);
        long heldWhileAlive;
        using (var child = new Child("--hold-reader", path))
        {
            child.WaitFor("ACK reading");
            var readers = db.GetStats().Readers;
            Assert.Contains(readers, r => r.ProcessId == child.Pid);
            for (int round = 1; round <= 5; round++) Rewrite(db, round);
            heldWhileAlive = db.GetStats().HeldFreePages;
            Assert.True(heldWhileAlive > 0, "the live reader should hold freed pages");
            child.Kill();
        }
        var after = db.GetStats();
        Assert.DoesNotContain(after.Readers, r => r.ProcessId != Environment.ProcessId);
        for (int round = 6; round <= 8; round++) Rewrite(db, round); // the next writers release what the dead reader held
        long length = new FileInfo(path).Length;
        for (int round = 9; round <= 20; round++) Rewrite(db, round);
        Assert.Equal(length, new FileInfo(path).Length);
        // What is held now is the last commit's frees only (released when the next writer starts).
        long heldAfter = db.GetStats().HeldFreePages;
        output.WriteLine($"held free pages: {heldWhileAlive} with the reader alive, {heldAfter} after it was killed and reclaimed");
        Assert.True(heldAfter < heldWhileAlive, $"{heldAfter} pages still held, {heldWhileAlive} while the reader lived");
        Assert.True(db.Check().IsValid);
    }

    /// <summary>
    /// Invariant L8 with real processes: this process zeroes every reader slot of the lock file while a reader in
    /// another process holds a snapshot, then rewrites every key many times. The writer learns of that reader from
    /// its snapshot lock, which only its process (or its death) can release, so the reader's snapshot stays intact.
    /// </summary>
    [Fact]
    public void ReaderSlotsZeroedByAnotherProcess_TheReaderKeepsItsSnapshot()
    {
        using var dir = new TempDir();
        string path = dir.File();
        string go = dir.File() + ".go";
        using var db = KvDatabase.Open(path, NoTimer);
        Rewrite(db, 0);
        using var child = new Child("--verify-reader", path, go);
        string ack = child.WaitFor("ACK reading");
        Assert.EndsWith(" 3000", ack);
        ReaderTableTamperTests.OverwriteReaderSlots(path, _ => 0);
        Assert.DoesNotContain(db.GetStats().Readers, r => r.ProcessId == child.Pid);
        for (int round = 1; round <= 10; round++) Rewrite(db, round);
        File.WriteAllText(go, "");
        string verdict = child.WaitFor("SAME", "CHANGED");
        Assert.Equal("SAME 3000", verdict);
        Assert.True(db.Check().IsValid);
    }

    /// <summary>
    /// Bug pinned (the random-kill test failed on it in CI: "dead processes still listed as readers 10 s after their
    /// kill"): an opener takes the first free opener index, so the next opener after a killed reader reuses the dead
    /// process's index. The dead slots then named a live opener's index: others could not take its lock, and the new
    /// opener took them for its own, so they held their snapshot's pages until it closed. The new opener now frees
    /// them at its open, holding that index's lock.
    /// </summary>
    [Fact]
    public void ReaderKilledHoldingASlot_WhoseIndexTheNextOpenerReuses_IsReclaimed()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, NoTimer);
        Rewrite(db, 0);
        int deadPid;
        using (var child = new Child("--hold-reader", path))
        {
            child.WaitFor("ACK reading");
            deadPid = child.Pid;
            for (int round = 1; round <= 3; round++) Rewrite(db, round);
            child.Kill();
        }
        // The next opener takes the dead reader's index (the first free one) and keeps it open from here on.
        using var next = KvDatabase.Open(path, NoTimer);
        Assert.DoesNotContain(db.GetStats().Readers, r => r.ProcessId == deadPid);
        for (int round = 4; round <= 6; round++) Rewrite(db, round);
        long length = new FileInfo(path).Length;
        for (int round = 7; round <= 20; round++) Rewrite(db, round);
        Assert.Equal(length, new FileInfo(path).Length); // nothing pins the old snapshot's pages
        Assert.True(db.Check().IsValid);
    }

    private static void Rewrite(KvDatabase db, int round)
    {
        using var tx = db.BeginWrite();
        for (int i = 0; i < 3000; i++) tx.Put(Encoding.UTF8.GetBytes($"k{i:D5}"), Encoding.UTF8.GetBytes($"round {round} {new string('x', 50)}"));
        tx.Commit();
    }

    /// <summary>
    /// A process killed after a Deferred commit that nobody flushed: the commit is in this boot's page cache and the
    /// lock file names it, so the next open (here, the only one) makes it durable and shows it.
    /// </summary>
    [Fact]
    public void ProcessKilledAfterADeferredCommit_TheNextOpenKeepsIt()
    {
        using var dir = new TempDir();
        string path = dir.File();
        KvDatabase.Open(path, NoTimer).Dispose();
        using (var child = new Child("--deferred-then-wait", path))
        {
            string ack = child.WaitFor("ACK committed");
            output.WriteLine(ack);
            child.Kill();
        }
        using var db = KvDatabase.Open(path, NoTimer);
        using (var r = db.BeginRead())
        {
            Assert.True(r.TryGet("deferred"u8, out var v));
            Assert.Equal("kept", Encoding.UTF8.GetString(v));
        }
        Assert.True(db.DurableTxnId >= db.LastTxnId);
        Assert.True(db.Check().IsValid);
    }

    /// <summary>
    /// The same kill, but the lock file then says it is from another boot (as after a power cut, when the page cache
    /// is gone): its record of the unflushed commit must be ignored, and the database opens at its durable commit.
    /// </summary>
    [Fact]
    public void LockFileOfAnotherBoot_IsNotTrusted()
    {
        using var dir = new TempDir();
        string path = dir.File();
        KvDatabase.Open(path, NoTimer).Dispose();
        long durableBefore;
        using (var d = KvDatabase.Open(path, NoTimer with { ReadOnly = true })) durableBefore = d.LastTxnId;
        using (var child = new Child("--deferred-then-wait", path))
        {
            child.WaitFor("ACK committed");
            child.Kill();
        }
        using (var lockFile = new FileStream(path + "-lock", FileMode.Open, FileAccess.ReadWrite))
        {
            lockFile.Position = 24; // the boot id (docs/format.md §12.1)
            lockFile.Write(new byte[16].AsSpan().ToArray().Select((_, i) => (byte)(0xA5 ^ i)).ToArray());
        }
        using var db = KvDatabase.Open(path, NoTimer);
        using (var r = db.BeginRead()) Assert.False(r.TryGet("deferred"u8, out _));
        Assert.Equal(durableBefore, db.LastTxnId);
        Assert.True(db.Check().IsValid);
    }

    /// <summary>The same, with another process open all along: its next write takes the commit over and makes it durable.</summary>
    [Fact]
    public void ProcessKilledAfterADeferredCommit_AnotherOpenerMakesItDurable()
    {
        using var dir = new TempDir();
        string path = dir.File();
        using var db = KvDatabase.Open(path, NoTimer);
        using (var child = new Child("--deferred-then-wait", path))
        {
            child.WaitFor("ACK committed");
            child.Kill();
        }
        using (var r = db.BeginRead()) Assert.True(r.TryGet("deferred"u8, out _));
        Assert.True(db.DurableTxnId < db.LastTxnId, "nobody flushed the dead process's commit yet");
        db.Flush();
        Assert.True(db.DurableTxnId >= db.LastTxnId);
        using (var tx = db.BeginWrite())
        {
            tx.Put("after"u8, "1"u8);
            tx.Commit();
        }
        Assert.True(db.Check().IsValid);
    }
}
