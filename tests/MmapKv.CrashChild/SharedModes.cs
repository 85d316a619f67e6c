using System.Buffers.Binary;
using System.Text;
using MmapKv;

/// <summary>
/// Child modes for the multi-process tests (tests/MmapKv.Tests/MultiProcessTests.cs). Every mode opens the database
/// in shared mode (the default) and reports on stdout, one line per event.
/// </summary>
internal static class SharedModes
{
    public const int Buckets = 10;

    /// <summary>Runs the mode named by <paramref name="args"/>[0]; false if it names none.</summary>
    public static bool TryRun(string[] args)
    {
        switch (args[0])
        {
            case "--counter": Counter(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), args[3] == "deferred"); return true;
            case "--sum-reader": SumReader(args[1], TimeSpan.FromSeconds(double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)), args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0); return true;
            case "--acked-writer": AckedWriter(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)); return true;
            case "--hold-reader": HoldReader(args[1]); return true;
            case "--verify-reader": VerifyReader(args[1], args[2]); return true;
            case "--hold-writer": HoldWriter(args[1]); return true;
            case "--deferred-then-wait": DeferredThenWait(args[1]); return true;
            default: return false;
        }
    }

    private static KvOptions Options(bool deferred = false)
    {
        var o = long.TryParse(Environment.GetEnvironmentVariable("MMAPKV_TEST_MAX_SIZE"), out long max) ? new KvOptions { MaxSize = max } : new KvOptions();
        return deferred ? o with { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.FromMilliseconds(5) } : o;
    }

    public static byte[] BucketKey(int b) => Encoding.UTF8.GetBytes($"bucket/{b}");

    /// <summary>
    /// <paramref name="iterations"/> write transactions, each adding 1 to the counter "n" and to one bucket, and
    /// rewriting a spread of filler keys (so pages are freed and reused across processes). Invariant of every
    /// committed state: the buckets sum to n.
    /// </summary>
    private static void Counter(string path, int iterations, bool deferred)
    {
        using var db = KvDatabase.Open(path, Options(deferred));
        var rng = new Random(Environment.ProcessId);
        Span<byte> buf = stackalloc byte[8];
        for (int i = 0; i < iterations; i++)
        {
            using var tx = db.BeginWrite();
            long n = tx.TryGet("n"u8, out var nv) ? BinaryPrimitives.ReadInt64LittleEndian(nv) : 0;
            int b = rng.Next(Buckets);
            long bv = tx.TryGet(BucketKey(b), out var bb) ? BinaryPrimitives.ReadInt64LittleEndian(bb) : 0;
            BinaryPrimitives.WriteInt64LittleEndian(buf, n + 1);
            tx.Put("n"u8, buf);
            BinaryPrimitives.WriteInt64LittleEndian(buf, bv + 1);
            tx.Put(BucketKey(b), buf);
            for (int f = 0; f < 20; f++) tx.Put(Encoding.UTF8.GetBytes($"filler/{rng.Next(2000):D4}"), new byte[rng.Next(10, 400)]);
            tx.Commit();
        }
        Console.WriteLine($"DONE {iterations}");
    }

    /// <summary>The counter of writer process <paramref name="id"/> (<see cref="AckedWriter"/>).</summary>
    public static byte[] WriterKey(int id) => Encoding.UTF8.GetBytes($"writer/{id}");

    /// <summary>
    /// The invariant of every committed state: the buckets sum to n, and so do the first <paramref name="writers"/>
    /// writer counters (when there are any). Null if it holds, otherwise what is wrong.
    /// </summary>
    public static string? CheckSums(ReadTransaction tx, int writers, out long n)
    {
        n = tx.TryGet("n"u8, out var nv) ? BinaryPrimitives.ReadInt64LittleEndian(nv) : 0;
        long buckets = 0, counters = 0;
        for (int b = 0; b < Buckets; b++)
            if (tx.TryGet(BucketKey(b), out var bv)) buckets += BinaryPrimitives.ReadInt64LittleEndian(bv);
        for (int w = 0; w < writers; w++)
            if (tx.TryGet(WriterKey(w), out var wv)) counters += BinaryPrimitives.ReadInt64LittleEndian(wv);
        if (buckets != n) return $"snapshot {tx.TxnId}: buckets sum to {buckets}, n = {n}";
        if (writers > 0 && counters != n) return $"snapshot {tx.TxnId}: the {writers} writer counters sum to {counters}, n = {n}";
        return null;
    }

    /// <summary>
    /// Writer <paramref name="id"/> (of <paramref name="writers"/>) of the SIGKILL test: commits forever, each commit with Durability.Immediate adding
    /// 1 to n, to one bucket and to its own counter "writer/id" (continuing from the value in the file, so a restarted
    /// process carries on), and rewriting or deleting filler keys, some with overflow values. Prints "ACK id counter"
    /// (flushed) only after Commit returned. A second thread holds read transactions for a few milliseconds each and
    /// checks the invariant in them, so a kill often lands while this process holds a reader slot as well as (or
    /// instead of) the writer lock. Exit 1 on a violation.
    /// </summary>
    private static void AckedWriter(string path, int id, int writers)
    {
        var stdout = Console.Out;
        // Progress lines (the test ignores them; a writer that never acknowledges shows how far it got).
        stdout.WriteLine("STARTED");
        stdout.Flush();
        using var db = KvDatabase.Open(path, Options());
        stdout.WriteLine("OPENED");
        stdout.Flush();
        var reader = new Thread(() =>
        {
            var rng = new Random(Environment.ProcessId * 31 + 1);
            while (true)
            {
                using var tx = db.BeginRead();
                if (CheckSums(tx, writers, out _) is { } bad)
                {
                    stdout.WriteLine("BAD " + bad);
                    stdout.Flush();
                    Environment.Exit(1);
                }
                Thread.Sleep(rng.Next(0, 15));
            }
        }) { IsBackground = true };
        reader.Start();
        var rng = new Random(Environment.ProcessId);
        Span<byte> buf = stackalloc byte[8];
        while (true)
        {
            long counter;
            using (var tx = db.BeginWrite())
            {
                long n = tx.TryGet("n"u8, out var nv) ? BinaryPrimitives.ReadInt64LittleEndian(nv) : 0;
                int b = rng.Next(Buckets);
                long bv = tx.TryGet(BucketKey(b), out var bb) ? BinaryPrimitives.ReadInt64LittleEndian(bb) : 0;
                counter = (tx.TryGet(WriterKey(id), out var cv) ? BinaryPrimitives.ReadInt64LittleEndian(cv) : 0) + 1;
                BinaryPrimitives.WriteInt64LittleEndian(buf, n + 1);
                tx.Put("n"u8, buf);
                BinaryPrimitives.WriteInt64LittleEndian(buf, bv + 1);
                tx.Put(BucketKey(b), buf);
                BinaryPrimitives.WriteInt64LittleEndian(buf, counter);
                tx.Put(WriterKey(id), buf);
                for (int f = 0; f < 12; f++)
                {
                    byte[] key = Encoding.UTF8.GetBytes($"filler/{rng.Next(1500):D4}");
                    if (rng.Next(4) == 0) tx.Delete(key);
                    else tx.Put(key, new byte[rng.Next(20) == 0 ? rng.Next(5000, 12000) : rng.Next(10, 400)]);
                }
                tx.Commit(Durability.Immediate);
            }
            stdout.WriteLine($"ACK {id} {counter}");
            stdout.Flush();
        }
    }

    /// <summary>
    /// Checks the invariant (<see cref="CheckSums"/>, with <paramref name="writers"/> writer counters) on every
    /// snapshot it can take for <paramref name="duration"/>, and that n never goes back; exit 1 on a violation.
    /// </summary>
    private static void SumReader(string path, TimeSpan duration, int writers)
    {
        using var db = KvDatabase.Open(path, Options() with { ReadOnly = true });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long snapshots = 0, lastN = -1;
        var nextReport = TimeSpan.FromSeconds(1);
        while (watch.Elapsed < duration)
        {
            using var tx = db.BeginRead();
            string? bad = CheckSums(tx, writers, out long n);
            // Walk the fillers too: a reused page under this snapshot would show as damage or a wrong count.
            using (var c = tx.OpenCursor())
                for (bool ok = c.Seek("filler/"u8); ok && c.Key.StartsWith("filler/"u8); ok = c.Next()) _ = c.Value.Length;
            if (bad is not null || n < lastN)
            {
                Console.WriteLine($"BAD {bad ?? $"snapshot {tx.TxnId}"}: n = {n}, previous n = {lastN}");
                Environment.Exit(1);
            }
            lastN = n;
            snapshots++;
            if (watch.Elapsed >= nextReport)
            {
                Console.WriteLine($"READ {snapshots} {n}"); // progress, for a parent that kills this reader at the end
                Console.Out.Flush();
                nextReport = watch.Elapsed + TimeSpan.FromSeconds(1);
            }
        }
        Console.WriteLine($"OK {snapshots} {lastN}");
    }

    /// <summary>Opens a read transaction, says so, and waits to be killed.</summary>
    private static void HoldReader(string path)
    {
        var db = KvDatabase.Open(path, Options());
        var tx = db.BeginRead();
        Console.WriteLine($"ACK reading {tx.TxnId}");
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(tx);
    }

    /// <summary>
    /// Reads every entry of one snapshot, says so, waits until the file <paramref name="go"/> exists (the parent
    /// has meanwhile tampered with the lock file and rewritten the database), reads the same snapshot again, and
    /// says whether every entry is as before.
    /// </summary>
    private static void VerifyReader(string path, string go)
    {
        using var db = KvDatabase.Open(path, Options());
        using var tx = db.BeginRead();
        var before = Entries(tx);
        Console.WriteLine($"ACK reading {tx.TxnId} {before.Count}");
        while (!File.Exists(go)) Thread.Sleep(20);
        List<string> after;
        try { after = Entries(tx); }
        catch (Exception e) when (e is CorruptDatabaseException or InvalidOperationException)
        {
            Console.WriteLine($"CHANGED: reading the snapshot again threw {e.GetType().Name}: {e.Message}");
            return;
        }
        int differ = before.Count == after.Count ? before.Zip(after).Count(p => p.First != p.Second) : -1;
        Console.WriteLine(differ == 0 ? $"SAME {after.Count}" : $"CHANGED: {before.Count} entries before, {after.Count} after, {differ} differ");
    }

    private static List<string> Entries(ReadTransaction tx)
    {
        var list = new List<string>();
        foreach (var e in tx.Scan()) list.Add(Convert.ToHexString(e.Key) + "=" + Convert.ToHexString(e.Value));
        return list;
    }

    /// <summary>Opens a write transaction, writes into it, says so, and waits to be killed with the writer lock held.</summary>
    private static void HoldWriter(string path)
    {
        var db = KvDatabase.Open(path, Options());
        var tx = db.BeginWrite();
        for (int i = 0; i < 500; i++) tx.Put(Encoding.UTF8.GetBytes($"uncommitted/{i:D4}"), new byte[300]);
        Console.WriteLine("ACK writing");
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(tx);
    }

    /// <summary>One Deferred commit with the interval flush off, then waits to be killed before any flush.</summary>
    private static void DeferredThenWait(string path)
    {
        var db = KvDatabase.Open(path, Options() with { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.Zero, DeferredFlushBytes = long.MaxValue });
        using (var tx = db.BeginWrite())
        {
            tx.Put("deferred"u8, "kept"u8);
            tx.Commit();
        }
        Console.WriteLine($"ACK committed {db.LastTxnId} durable {db.DurableTxnId}");
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(db);
    }
}
