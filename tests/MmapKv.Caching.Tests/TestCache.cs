using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MmapKv.Caching.Tests;

/// <summary>A temporary folder for cache files, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mmapkv-cache-tests", Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name = "cache.mkv") => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A cache over a temporary file with a fake clock (sweep timer off unless asked for).</summary>
public sealed class TestCache : IDisposable
{
    private readonly TempDir _dir = new();
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public string FilePath => _dir.File();
    public MmapKvCache Cache { get; private set; }
    private readonly Action<MmapKvCacheOptions>? _configure;
    private readonly ILogger<MmapKvCache>? _logger;

    public TestCache(Action<MmapKvCacheOptions>? configure = null, ILogger<MmapKvCache>? logger = null)
    {
        _configure = configure;
        _logger = logger;
        Cache = Open();
    }

    public MmapKvCacheOptions Options()
    {
        var o = new MmapKvCacheOptions { Path = FilePath, TimeProvider = Time, ExpirationScanInterval = Timeout.InfiniteTimeSpan, SizeLimit = 64L << 20 };
        _configure?.Invoke(o);
        return o;
    }

    public MmapKvCache Open() => new(Microsoft.Extensions.Options.Options.Create(Options()), _logger);

    /// <summary>Closes the cache and opens it again over the same file ("restart").</summary>
    public void Reopen()
    {
        Cache.Dispose();
        Cache = Open();
    }

    public void Dispose()
    {
        Cache.Dispose();
        _dir.Dispose();
    }
}

internal static class Entry
{
    public static DistributedCacheEntryOptions Sliding(TimeSpan t) => new() { SlidingExpiration = t };
    public static DistributedCacheEntryOptions Relative(TimeSpan t) => new() { AbsoluteExpirationRelativeToNow = t };
    public static DistributedCacheEntryOptions At(DateTimeOffset t) => new() { AbsoluteExpiration = t };
    public static byte[] Bytes(string s) => System.Text.Encoding.UTF8.GetBytes(s);
}
