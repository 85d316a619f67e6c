using Microsoft.Extensions.Options;

namespace MmapKv.Caching;

/// <summary>Checks <see cref="MmapKvCacheOptions"/>; registered by <see cref="MmapKvCacheServiceCollectionExtensions.AddMmapKvCache"/>
/// so that a bad configuration fails at host start, and also run by the <see cref="MmapKvCache"/> constructor.</summary>
public sealed class MmapKvCacheOptionsValidator : IValidateOptions<MmapKvCacheOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, MmapKvCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Problems(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static IEnumerable<string> Problems(MmapKvCacheOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Path))
            yield return "MmapKvCacheOptions.Path must name the cache file.";
        if (o.SizeLimit < MmapKvCacheOptions.MinimumSizeLimit)
            yield return $"MmapKvCacheOptions.SizeLimit must be at least {MmapKvCacheOptions.MinimumSizeLimit} bytes (it is {o.SizeLimit}).";
        if (o.DefaultSlidingExpiration <= TimeSpan.Zero)
            yield return "MmapKvCacheOptions.DefaultSlidingExpiration must be positive.";
        if (o.ExpirationScanInterval <= TimeSpan.Zero && o.ExpirationScanInterval != Timeout.InfiniteTimeSpan)
            yield return "MmapKvCacheOptions.ExpirationScanInterval must be positive (or Timeout.InfiniteTimeSpan to turn the sweep timer off).";
        if (o.ExpirationScanBatchSize is < 1 or > 100_000)
            yield return "MmapKvCacheOptions.ExpirationScanBatchSize must be from 1 to 100,000.";
        if (!Enum.IsDefined(o.Durability))
            yield return $"MmapKvCacheOptions.Durability has an unknown value ({o.Durability}).";
        if (o.TimeProvider is null)
            yield return "MmapKvCacheOptions.TimeProvider must not be null.";
        if (o.KvOptions is null)
            yield return "MmapKvCacheOptions.KvOptions must not be null.";
        else if (o.KvOptions.ReadOnly)
            yield return "MmapKvCacheOptions.KvOptions.ReadOnly must be false: a cache writes.";
    }
}
