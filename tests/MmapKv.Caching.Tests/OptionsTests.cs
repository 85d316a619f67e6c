using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MmapKv.Caching.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void AddMmapKvCache_registers_one_singleton_for_both_interfaces()
    {
        using var dir = new TempDir();
        var services = new ServiceCollection();
        services.AddMmapKvCache(o => o.Path = dir.File());
        using var sp = services.BuildServiceProvider();
        var distributed = sp.GetRequiredService<IDistributedCache>();
        Assert.IsType<MmapKvCache>(distributed);
        Assert.Same(distributed, sp.GetRequiredService<IBufferDistributedCache>());
        Assert.Same(distributed, sp.GetRequiredService<MmapKvCache>());
        distributed.Set("a", [1], new DistributedCacheEntryOptions());
        Assert.Equal(new byte[] { 1 }, distributed.Get("a"));
    }

    [Fact]
    public void Options_are_validated_at_startup()
    {
        var services = new ServiceCollection();
        services.AddMmapKvCache(o => { o.Path = ""; o.SizeLimit = 10; });
        using var sp = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(e.Failures, f => f.Contains("Path", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("SizeLimit", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sliding")]
    [InlineData("interval")]
    [InlineData("batch")]
    [InlineData("readonly")]
    [InlineData("durability")]
    public void The_constructor_rejects_bad_options(string what)
    {
        using var dir = new TempDir();
        var o = new MmapKvCacheOptions { Path = dir.File() };
        switch (what)
        {
            case "sliding": o.DefaultSlidingExpiration = TimeSpan.Zero; break;
            case "interval": o.ExpirationScanInterval = TimeSpan.FromSeconds(-1); break;
            case "batch": o.ExpirationScanBatchSize = 0; break;
            case "readonly": o.KvOptions = new KvOptions { ReadOnly = true }; break;
            case "durability": o.Durability = (Durability)7; break;
        }
        Assert.Throws<OptionsValidationException>(() => new MmapKvCache(Options.Create(o)));
        Assert.False(File.Exists(dir.File()));
    }

    [Fact]
    public void KvOptions_pass_through_and_the_size_limit_caps_the_file()
    {
        using var t = new TestCache(o => { o.KvOptions = new KvOptions { PageSize = 8192 }; o.SizeLimit = 8L << 20; });
        t.Cache.Set("a", [1], new DistributedCacheEntryOptions());
        t.Cache.Dispose();
        using var db = KvDatabase.Open(t.FilePath, new KvOptions { PageSize = 8192 });
        Assert.Equal(8192, db.PageSize);
    }

    [Fact]
    public void A_second_cache_on_the_same_file_is_refused()
    {
        using var t = new TestCache();
        Assert.Throws<DatabaseLockedException>(() => t.Open());
    }

    [Fact]
    public void A_database_that_is_not_a_cache_is_refused_and_left_alone()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("user"u8, "data"u8);
            tx.Commit();
        }
        Assert.Throws<InvalidOperationException>(() => new MmapKvCache(Options.Create(new MmapKvCacheOptions { Path = dir.File() })));
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginRead())
            Assert.True(tx.TryGet("user"u8, out _));
    }
}
