// Commits forever with Immediate durability and prints "ACK <n>" after commit n returns. Each commit n writes
// three keys (n/a, n/b, n/c), overwrites "last" with n, deletes the keys of commit n-50, and every 7th commit
// writes an overflow value, so a SIGKILL can land in any phase: page writes, splits, merges, msync, meta write.
// The parent kills it at a random moment and checks that every acknowledged commit is present and no commit
// is partly visible.
//
// Usage: MmapKv.CrashChild <db path> [first n] [threads]
using System.Text;
using MmapKv;

string path = args[0];
long next = args.Length > 1 ? long.Parse(args[1]) : 0;
int threads = args.Length > 2 ? int.Parse(args[2]) : 1;
using var db = KvDatabase.Open(path);
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

static byte[] Key(long n, char part) => Encoding.UTF8.GetBytes($"c{n:D10}/{part}");

var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => Worker(t))).ToArray();
foreach (var w in workers) w.Start();
foreach (var w in workers) w.Join();
