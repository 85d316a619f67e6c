using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MmapKv.Caching.Tests;

public sealed class CorruptionTests
{
    private static void Damage(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Random.Shared.NextBytes(bytes.AsSpan(0, 3 * 4096)); // both meta slots and the first page after them
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void A_damaged_file_is_moved_aside_logged_and_the_cache_starts_empty()
    {
        var logger = new FakeLogger<MmapKvCache>();
        using var t = new TestCache(logger: logger);
        t.Cache.Set("a", [1], new DistributedCacheEntryOptions());
        t.Cache.Dispose();
        Damage(t.FilePath);
        t.Reopen();
        Assert.Null(t.Cache.Get("a"));
        Assert.Equal(0, t.Cache.Count);
        string dir = Path.GetDirectoryName(t.FilePath)!;
        var aside = Directory.GetFiles(dir, "cache.mkv.corrupt-*");
        Assert.Single(aside);
        Assert.Matches(@"cache\.mkv\.corrupt-\d{8}T\d{9}Z$", aside[0]);
        var error = Assert.Single(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Error);
        Assert.Contains(aside[0], error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<CorruptDatabaseException>(error.Exception);
        t.Cache.Set("b", [2], new DistributedCacheEntryOptions());
        Assert.Equal(new byte[] { 2 }, t.Cache.Get("b"));
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_moved_aside_too()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(), "this is not a database, just some text that is long enough to be read as a header");
        using var cache = new MmapKvCache(Microsoft.Extensions.Options.Options.Create(new MmapKvCacheOptions { Path = dir.File() }));
        Assert.Single(Directory.GetFiles(dir.Path, "cache.mkv.corrupt-*"));
        cache.Set("a", [1], new DistributedCacheEntryOptions());
    }

    [Fact]
    public void With_ThrowOnCorruption_the_constructor_throws_and_the_file_stays()
    {
        using var t = new TestCache(o => o.ThrowOnCorruption = true);
        t.Cache.Set("a", [1], new DistributedCacheEntryOptions());
        t.Cache.Dispose();
        Damage(t.FilePath);
        Assert.ThrowsAny<CorruptDatabaseException>(() => t.Open());
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(t.FilePath)!, "*.corrupt-*"));
        Assert.True(File.Exists(t.FilePath));
        File.Delete(t.FilePath);
        t.Reopen();
    }
}
