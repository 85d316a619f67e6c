using System.Text;
using System.Globalization;
using Microsoft.Extensions.Options;
using MmapKv.Simulation;

namespace MmapKv.Caching.Tests;

/// <summary>SIGKILL a child process while it writes the cache (tests/MmapKv.Caching.TestChild/Program.cs), then reopen.</summary>
public sealed class CrashTests
{
    internal static string ChildDll => Path.Combine(AppContext.BaseDirectory, "MmapKv.Caching.TestChild.dll");

    [Fact]
    public void After_a_kill_the_cache_opens_checks_and_returns_only_values_that_were_set_and_are_live()
    {
        using var dir = new TempDir();
        string path = dir.File();
        var rng = new Random(12);
        int seen = 0;
        for (int round = 0; round < 3; round++)
        {
            KillDuring(path, TimeSpan.FromMilliseconds(rng.Next(300, 1200)));
            using (var db = KvDatabase.Open(path))
            {
                var report = db.Check();
                Assert.True(report.IsValid, report.ToString());
            }
            using var cache = new MmapKvCache(Options.Create(new MmapKvCacheOptions { Path = path, SizeLimit = 4L << 20, ExpirationScanInterval = Timeout.InfiniteTimeSpan }));
            Assert.True(new FileInfo(path).Length <= 4L << 20);
            for (int k = 0; k < 2000; k++)
            {
                string key = "k" + k;
                long now = DateTimeOffset.UtcNow.UtcTicks;
                var value = cache.Get(key);
                if (value is null) continue;
                seen++;
                var parts = Encoding.UTF8.GetString(value).Split('|');
                Assert.Equal(4, parts.Length);
                Assert.Equal(key, parts[0]);
                long n = long.Parse(parts[1], CultureInfo.InvariantCulture);
                long deadline = long.Parse(parts[2], CultureInfo.InvariantCulture);
                Assert.True(deadline == 0 || now < deadline, $"{key} was returned after its absolute expiry");
                Assert.All(parts[3], c => Assert.Equal((char)('a' + n % 26), c));
            }
        }
        Assert.True(seen > 0, "no entry survived any kill: the child wrote nothing durable");
    }

    private static void KillDuring(string path, TimeSpan after) => KillHarness.KillAfterFirstAck([ChildDll, "crash", path], after);
}
