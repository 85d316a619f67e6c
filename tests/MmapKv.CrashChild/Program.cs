// Commits forever with Immediate durability and prints "ACK <n>" after commit n returns. Each commit n writes
// three keys (n/a, n/b, n/c), overwrites "last" with n, deletes the keys of commit n-50, and every 7th commit
// writes an overflow value, so a SIGKILL can land in any phase: page writes, splits, merges, msync, meta write.
// The parent kills it at a random moment and checks that every acknowledged commit is present and no commit
// is partly visible.
//
// Usage: MmapKv.CrashChild <db path> [first n] [threads]
//
// Second mode, for the Dispose-durability test: MmapKv.CrashChild --deferred-exit <db path> <commits>
// opens with Deferred durability and a 1 ms flush interval, commits <commits> 1 MiB values ("big/<i>") while the
// background flush keeps running, makes one more small commit ("last"), disposes the database and returns from
// Main at once. Every one of those commits must be in the file afterwards: Dispose promises durability.
//
// Modes for the multi-process tests (--counter, --acked-writer, --sum-reader, --hold-reader, --hold-writer, --deferred-then-wait)
// are in SharedModes.cs.
using System.Text;
using MmapKv;

// An exception no mode catches ends the child with one line on stdout, which the parent's failure message shows
// first, and exit code 70 (under Wine an unhandled exception also prints a crash report of every loaded module,
// which buried the cause in CI logs).
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    string what = e.ExceptionObject is Exception ex ? $"{ex.GetType().FullName}: {ex.Message}" : $"{e.ExceptionObject}";
    Console.Out.WriteLine($"CHILD FAILED {what.ReplaceLineEndings(" ")}");
    Console.Out.Flush();
    Console.Error.WriteLine(e.ExceptionObject);
    Console.Error.Flush();
    Environment.Exit(70);
};

if (SharedModes.TryRun(args)) return;
if (DebugSpansMode.TryRun(args)) return;
if (args[0] == "--deferred-exit")
{
    DeferredExit(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

string path = args[0];
long next = args.Length > 1 ? long.Parse(args[1]) : 0;
int threads = args.Length > 2 ? int.Parse(args[2]) : 1;
using var db = KvDatabase.Open(path, Options());
var stdout = Console.Out;
object gate = new();

void Worker(int thread)
{
    var rng = new Random(thread * 7919 + (int)next);
    while (true)
    {
        long n;
        using (var tx = db.BeginWrite())
        {
            lock (gate) n = next++;
            foreach (char part in "abc") tx.Put(Key(n, part), Encoding.UTF8.GetBytes($"value {n}{part}"));
            tx.Put("last"u8, BitConverter.GetBytes(n));
            if (n % 7 == 0) tx.Put(Key(n, 'o'), new byte[5000 + rng.Next(20000)]);
            if (n >= 50)
                foreach (char part in "abco") tx.Delete(Key(n - 50, part));
            tx.Commit();
        }
        lock (gate)
        {
            stdout.WriteLine($"ACK {n}");
            stdout.Flush();
        }
    }
}

// MMAPKV_TEST_MAX_SIZE (bytes) replaces the default 256 GiB map where one that large cannot be had: QEMU user mode
// (.ci/arm64) pays for the whole shared mapping in memory. KillHarness.Verify reads it too.
static KvOptions Options() =>
    long.TryParse(Environment.GetEnvironmentVariable("MMAPKV_TEST_MAX_SIZE"), out long max) ? new KvOptions { MaxSize = max } : new KvOptions();

static byte[] Key(long n, char part) => Encoding.UTF8.GetBytes($"c{n:D10}/{part}");

var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => Worker(t))).ToArray();
foreach (var w in workers) w.Start();
foreach (var w in workers) w.Join();

static void DeferredExit(string path, int commits)
{
    var db = KvDatabase.Open(path, new KvOptions { Durability = Durability.Deferred, DeferredFlushInterval = TimeSpan.FromMilliseconds(1) });
    var value = new byte[1 << 20];
    for (int i = 0; i < commits; i++)
    {
        value.AsSpan().Fill((byte)i);
        using var tx = db.BeginWrite();
        tx.Put(Encoding.UTF8.GetBytes($"big/{i:D5}"), value);
        tx.Commit();
    }
    using (var tx = db.BeginWrite())
    {
        tx.Put("last"u8, BitConverter.GetBytes(commits));
        tx.Commit();
    }
    var watch = System.Diagnostics.Stopwatch.StartNew();
    db.Dispose();
    Console.WriteLine($"DISPOSED {watch.Elapsed.TotalMilliseconds:0.0} ms");
}
