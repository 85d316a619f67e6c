// The cache's child process for real-process tests (tests/MmapKv.Caching.Tests/CrashTests.cs).
//
// crash <path>: sets, gets and removes entries from two threads forever, with every kind of expiry (relative,
// sliding, absolute, default), a 4 MiB size limit (so evictions run) and a 50 ms sweep, and prints "ACK <n>" every
// 50 operations. The parent kills it with SIGKILL. A value is "<key>|<n>|<deadline ticks or 0>|" followed by
// n % 26 + 'a' repeated, so the parent can check that whatever it reads back was set whole and is not expired.
//
// node <path> <redis port> <plugin|no-plugin>: one node of a scaled-out service (tests/MmapKv.Caching.Tests/
// ScaleOutTests.cs): FusionCache over its own MmapKvCache file, with the Redis backplane and, unless told not to,
// the LocalL2BackplaneInvalidation plugin. Prints "READY", then answers one line per command read from stdin:
//   getorset <key> <value>  -> "<value returned> factory|cached" (the factory returns <value>)
//   set <key> <value>, remove <key>  -> "ok"
//   l2 <key>  -> "hit <value>" or "miss": the distributed level (this node's file) alone
//   received <key>  -> how many backplane messages for <key> this node has received from others
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using MmapKv.Caching;
using MmapKv.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

if (args[0] == "crash")
{
    Crash(args[1]);
    return 0;
}
if (args[0] == "node")
{
    await Node(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), args[3] == "plugin");
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

static async Task Node(string path, int redisPort, bool plugin)
{
    using var l2 = new MmapKvCache(Options.Create(new MmapKvCacheOptions { Path = path, SizeLimit = 16L << 20 }));
    using var fusion = new FusionCache(new FusionCacheOptions
    {
        CacheName = "scale-out",
        // The plugin's invalidation then runs inside FusionCache's handling of the message, before FusionCache
        // rereads the file (docs/caching.md, "Scaling out").
        EnableSyncEventHandlersExecution = true,
        DefaultEntryOptions = new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromMinutes(10),
            IsFailSafeEnabled = true,
            FailSafeMaxDuration = TimeSpan.FromHours(1),
        },
    });
    fusion.SetupDistributedCache(l2, new FusionCacheSystemTextJsonSerializer());
    var backplane = new RedisBackplane(new RedisBackplaneOptions { Configuration = $"127.0.0.1:{redisPort},abortConnect=false" });
    fusion.SetupBackplane(backplane);
    if (plugin) fusion.AddPlugin(new LocalL2BackplaneInvalidation());
    var received = new ConcurrentDictionary<string, int>();
    fusion.Events.Backplane.MessageReceived += (_, e) => received.AddOrUpdate(e.Message.CacheKey ?? "", 1, (_, n) => n + 1);
    var l2Only = new FusionCacheEntryOptions { SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
    Console.Out.WriteLine("READY");
    Console.Out.Flush();
    while (Console.In.ReadLine() is { } line)
    {
        var part = line.Split(' ');
        string reply;
        switch (part[0])
        {
            case "getorset":
                bool called = false;
                string value = await fusion.GetOrSetAsync<string>(part[1], _ => { called = true; return Task.FromResult(part[2]); });
                reply = $"{value} {(called ? "factory" : "cached")}";
                break;
            case "set":
                await fusion.SetAsync(part[1], part[2]);
                reply = "ok";
                break;
            case "remove":
                await fusion.RemoveAsync(part[1]);
                reply = "ok";
                break;
            case "l2":
                var found = await fusion.TryGetAsync<string>(part[1], l2Only);
                reply = found.HasValue ? $"hit {found.Value}" : "miss";
                break;
            case "received":
                reply = received.GetValueOrDefault(part[1]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case "quit":
                return;
            default:
                reply = $"unknown command {part[0]}";
                break;
        }
        Console.Out.WriteLine(reply);
        Console.Out.Flush();
    }
}
