using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MmapKv.Caching;

/// <summary>Registers <see cref="MmapKvCache"/> with dependency injection.</summary>
public static class MmapKvCacheServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="MmapKvCache"/> as the <see cref="IDistributedCache"/> and <see cref="IBufferDistributedCache"/>
    /// (one singleton for both, so HybridCache uses its buffer interface), as AddDistributedSqlServerCache does:
    /// the options, then the singleton. The options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddMmapKvCache(this IServiceCollection services, Action<MmapKvCacheOptions> setupAction)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(setupAction);
        services.AddOptions<MmapKvCacheOptions>().Configure(setupAction).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MmapKvCacheOptions>, MmapKvCacheOptionsValidator>());
        services.TryAddSingleton<MmapKvCache>();
        services.Add(ServiceDescriptor.Singleton<IDistributedCache>(sp => sp.GetRequiredService<MmapKvCache>()));
        services.Add(ServiceDescriptor.Singleton<IBufferDistributedCache>(sp => sp.GetRequiredService<MmapKvCache>()));
        return services;
    }
}
