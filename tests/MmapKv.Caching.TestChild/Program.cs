// The cache's child process for real-process tests (tests/MmapKv.Caching.Tests/CrashTests.cs).
//
// crash <path>: sets, gets and removes entries from two threads forever, with every kind of expiry (relative,
// sliding, absolute, default), a 4 MiB size limit (so evictions run) and a 50 ms sweep, and prints "ACK <n>" every
// 50 operations. The parent kills it with SIGKILL. A value is "<key>|<n>|<deadline ticks or 0>|" followed by
// n % 26 + 'a' repeated, so the parent can check that whatever it reads back was set whole and is not expired.
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using MmapKv.Caching;

if (args[0] == "crash")
{
    Crash(args[1]);
    return 0;
}
Console.Error.WriteLine($"unknown mode {args[0]}");
return 2;

static void Crash(string path)
{
    var cache = new MmapKvCache(Options.Create(new MmapKvCacheOptions
    {
        Path = path,
        SizeLimit = 4L << 20,
        ExpirationScanInterval = TimeSpan.FromMilliseconds(50),
    }));
    long next = 0;
    var stdout = Console.Out;
    object gate = new();
    void Worker(int seed)
    {
        var rng = new Random(seed);
        while (true)
        {
            long n = Interlocked.Increment(ref next);
            string key = "k" + rng.Next(2000);
            var now = DateTimeOffset.UtcNow;
            long deadline = 0;
            var options = new DistributedCacheEntryOptions();
            switch (n % 4)
            {
                case 0:
                    var relative = TimeSpan.FromMilliseconds(rng.Next(10, 2000));
                    options.AbsoluteExpirationRelativeToNow = relative;
                    deadline = (now + relative).UtcTicks;
                    break;
                case 1:
                    options.SlidingExpiration = TimeSpan.FromMilliseconds(rng.Next(100, 2000));
                    break;
                case 2:
                    var at = now + TimeSpan.FromMilliseconds(rng.Next(50, 3000));
                    options.AbsoluteExpiration = at;
                    deadline = at.UtcTicks;
                    break;
            }
            string value = $"{key}|{n}|{deadline}|" + new string((char)('a' + n % 26), rng.Next(0, 6000));
            cache.Set(key, Encoding.UTF8.GetBytes(value), options);
            cache.Get("k" + rng.Next(2000));
            if (n % 10 == 0) cache.Remove("k" + rng.Next(2000));
            if (n % 50 == 0)
                lock (gate)
                {
                    stdout.WriteLine($"ACK {n}");
                    stdout.Flush();
                }
        }
    }
    var threads = Enumerable.Range(1, 2).Select(s => new Thread(() => Worker(s))).ToArray();
    foreach (var t in threads) t.Start();
    foreach (var t in threads) t.Join();
}
