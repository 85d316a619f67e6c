using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace MmapKv.Caching.Tests;

/// <summary>MmapKvCache as the distributed (second-level) cache of HybridCache and of FusionCache.</summary>
public sealed class HybridCacheTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceProvider Host(long sizeLimit = 64L << 20)
    {
        var services = new ServiceCollection();
        services.AddMmapKvCache(o => { o.Path = _dir.File(); o.SizeLimit = sizeLimit; });
        services.AddHybridCache();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task After_a_restart_GetOrCreateAsync_returns_the_stored_value_without_the_factory()
    {
        await using (var sp = Host())
        {
            var hybrid = sp.GetRequiredService<HybridCache>();
            Assert.Equal("computed 42", await hybrid.GetOrCreateAsync("item:42", ct => ValueTask.FromResult("computed 42")));
        }
        await using (var sp = Host()) // a new HybridCache (empty memory level) over a new MmapKvCache on the same file
        {
            var hybrid = sp.GetRequiredService<HybridCache>();
            int calls = 0;
            var value = await hybrid.GetOrCreateAsync("item:42", ct => { calls++; return ValueTask.FromResult("recomputed"); });
            Assert.Equal("computed 42", value);
            Assert.Equal(0, calls);
        }
    }

    [Fact]
    public async Task RemoveByTagAsync_hides_tagged_entries_across_a_restart()
    {
        await using (var sp = Host())
        {
            var hybrid = sp.GetRequiredService<HybridCache>();
            await hybrid.SetAsync("a", "A", tags: ["t1"]);
            await hybrid.SetAsync("b", "B", tags: ["t2"]);
            await hybrid.RemoveByTagAsync("t1");
            Assert.Equal("fresh", await hybrid.GetOrCreateAsync("a", ct => ValueTask.FromResult("fresh")));
            Assert.Equal("B", await hybrid.GetOrCreateAsync("b", ct => ValueTask.FromResult("fresh")));
            await hybrid.SetAsync("c", "C", tags: ["t3"]);
            await hybrid.RemoveByTagAsync("t3");
        }
        await using (var sp = Host()) // the invalidation was stored in the distributed cache too
        {
            var hybrid = sp.GetRequiredService<HybridCache>();
            Assert.Equal("fresh", await hybrid.GetOrCreateAsync("c", ct => ValueTask.FromResult("fresh")));
            Assert.Equal("B", await hybrid.GetOrCreateAsync("b", ct => ValueTask.FromResult("fresh")));
        }
    }

    [Fact]
    public async Task Payloads_near_MaximumPayloadBytes_go_through_L2()
    {
        byte[] stored;
        long max;
        await using (var sp = Host())
        {
            var hybrid = sp.GetRequiredService<HybridCache>();
            max = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<HybridCacheOptions>>().Value.MaximumPayloadBytes;
            stored = new byte[max - 4096]; // leaves room for HybridCache's own header
            Random.Shared.NextBytes(stored);
            await hybrid.SetAsync("big", stored);
            var l2 = sp.GetRequiredService<IDistributedCache>();
            Assert.True(l2.Get("big")!.Length >= stored.Length);
        }
        await using (var sp = Host())
        {
            var hybrid = sp.GetRequiredService<HybridCache>();
            var back = await hybrid.GetOrCreateAsync("big", ct => ValueTask.FromResult(Array.Empty<byte>()));
            Assert.Equal(stored, back);
        }
    }

    [Fact]
    public async Task FusionCache_with_MmapKvCache_as_L2_and_fail_safe_survives_a_restart()
    {
        var options = new FusionCacheOptions
        {
            DefaultEntryOptions = new FusionCacheEntryOptions
            {
                Duration = TimeSpan.FromMinutes(5),
                IsFailSafeEnabled = true,
                FailSafeMaxDuration = TimeSpan.FromHours(1),
                FailSafeThrottleDuration = TimeSpan.FromSeconds(30),
            },
        };
        var cacheOptions = new MmapKvCacheOptions { Path = _dir.File() };
        using (var l2 = new MmapKvCache(Microsoft.Extensions.Options.Options.Create(cacheOptions)))
        using (var fusion = new FusionCache(options))
        {
            fusion.SetupDistributedCache(l2, new FusionCacheSystemTextJsonSerializer());
            Assert.Equal("v1", await fusion.GetOrSetAsync<string>("k", _ => Task.FromResult("v1")));
            Assert.True(l2.Count > 0);
        }
        using (var l2 = new MmapKvCache(Microsoft.Extensions.Options.Options.Create(cacheOptions)))
        using (var fusion = new FusionCache(options))
        {
            fusion.SetupDistributedCache(l2, new FusionCacheSystemTextJsonSerializer());
            int calls = 0;
            Assert.Equal("v1", await fusion.GetOrSetAsync<string>("k", _ => { calls++; return Task.FromResult("v2"); }));
            Assert.Equal(0, calls);
            await fusion.RemoveAsync("k");
            Assert.Equal("v3", await fusion.GetOrSetAsync<string>("k", _ => Task.FromResult("v3")));
        }
    }
}
