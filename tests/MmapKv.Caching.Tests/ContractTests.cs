using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace MmapKv.Caching.Tests;

/// <summary>Every IDistributedCache and IBufferDistributedCache member, with a fake clock.</summary>
public sealed class ContractTests : IDisposable
{
    private readonly TestCache _t = new();
    private MmapKvCache Cache => _t.Cache;
    private static readonly byte[] Value = Entry.Bytes("value");

    public void Dispose() => _t.Dispose();

    [Fact]
    public void Get_of_a_missing_key_is_null()
    {
        Assert.Null(Cache.Get("nope"));
        Assert.False(Cache.TryGet("nope", new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public async Task Set_then_Get_returns_the_value_sync_and_async()
    {
        Cache.Set("a", Value, new DistributedCacheEntryOptions());
        await Cache.SetAsync("b", Entry.Bytes("other"), new DistributedCacheEntryOptions());
        Assert.Equal(Value, Cache.Get("a"));
        Assert.Equal(Entry.Bytes("other"), await Cache.GetAsync("b"));
    }

    [Fact]
    public void Set_overwrites_and_an_empty_value_is_a_value()
    {
        Cache.Set("a", Value, new DistributedCacheEntryOptions());
        Cache.Set("a", [], new DistributedCacheEntryOptions());
        Assert.Equal(Array.Empty<byte>(), Cache.Get("a"));
        Assert.Equal(1, Cache.Count);
    }

    [Fact]
    public void Absolute_expiration_expires_at_that_instant()
    {
        Cache.Set("a", Value, Entry.At(_t.Time.GetUtcNow().AddSeconds(10)));
        _t.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void Absolute_expiration_in_the_past_throws_like_the_sql_server_cache()
    {
        Assert.Throws<InvalidOperationException>(() => Cache.Set("a", Value, Entry.At(_t.Time.GetUtcNow().AddSeconds(-1))));
        Assert.Throws<InvalidOperationException>(() => Cache.Set("a", Value, Entry.At(_t.Time.GetUtcNow())));
    }

    [Fact]
    public void Relative_expiration_expires_after_that_span()
    {
        Cache.Set("a", Value, Entry.Relative(TimeSpan.FromMinutes(5)));
        _t.Time.Advance(TimeSpan.FromMinutes(4));
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void Relative_expiration_wins_over_absolute_as_in_the_sql_server_cache()
    {
        var options = new DistributedCacheEntryOptions
        {
            AbsoluteExpiration = _t.Time.GetUtcNow().AddMinutes(1),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(10),
        };
        Cache.Set("a", Value, options);
        _t.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void Sliding_expiration_is_moved_by_each_read()
    {
        Cache.Set("a", Value, Entry.Sliding(TimeSpan.FromSeconds(10)));
        for (int i = 0; i < 5; i++)
        {
            _t.Time.Advance(TimeSpan.FromSeconds(8));
            Assert.NotNull(Cache.Get("a"));
        }
        _t.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public async Task Sliding_is_moved_by_every_read_member()
    {
        Cache.Set("a", Value, Entry.Sliding(TimeSpan.FromSeconds(10)));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(await Cache.GetAsync("a"));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.True(Cache.TryGet("a", new ArrayBufferWriter<byte>()));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.True(await Cache.TryGetAsync("a", new ArrayBufferWriter<byte>()));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Cache.Refresh("a");
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        await Cache.RefreshAsync("a");
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(Cache.Get("a"));
    }

    [Fact]
    public void Sliding_is_capped_by_the_absolute_expiration()
    {
        var options = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(10), AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(25) };
        Cache.Set("a", Value, options);
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromSeconds(8)); // 24 s
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromSeconds(1)); // 25 s: the absolute expiry, though the window was just moved
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void Combined_with_an_absolute_instant_sooner_than_the_window_expires_at_that_instant()
    {
        var options = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(10), AbsoluteExpiration = _t.Time.GetUtcNow().AddMinutes(2) };
        Cache.Set("a", Value, options);
        _t.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void No_expiration_gets_the_default_sliding_window_of_20_minutes()
    {
        Cache.Set("a", Value, new DistributedCacheEntryOptions());
        _t.Time.Advance(TimeSpan.FromMinutes(19));
        Assert.NotNull(Cache.Get("a"));      // slides to 19 + 20
        _t.Time.Advance(TimeSpan.FromMinutes(19));
        Assert.NotNull(Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromMinutes(20));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void The_default_sliding_window_is_configurable()
    {
        using var t = new TestCache(o => o.DefaultSlidingExpiration = TimeSpan.FromSeconds(30));
        t.Cache.Set("a", Value, new DistributedCacheEntryOptions());
        t.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Null(t.Cache.Get("a"));
    }

    [Fact]
    public void Refresh_slides_without_returning_the_value_and_ignores_missing_keys()
    {
        Cache.Set("a", Value, Entry.Sliding(TimeSpan.FromSeconds(10)));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Cache.Refresh("a");
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(Cache.Get("a"));
        Cache.Refresh("missing");
    }

    [Fact]
    public void Refresh_does_not_extend_an_absolute_expiration()
    {
        Cache.Set("a", Value, Entry.Relative(TimeSpan.FromSeconds(10)));
        _t.Time.Advance(TimeSpan.FromSeconds(8));
        Cache.Refresh("a");
        _t.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public void Refresh_does_not_revive_an_expired_entry()
    {
        Cache.Set("a", Value, Entry.Sliding(TimeSpan.FromSeconds(10)));
        _t.Time.Advance(TimeSpan.FromSeconds(11));
        Cache.Refresh("a");
        Assert.Null(Cache.Get("a"));
    }

    [Fact]
    public async Task Remove_removes_sync_and_async_and_ignores_missing_keys()
    {
        Cache.Set("a", Value, new DistributedCacheEntryOptions());
        Cache.Set("b", Value, new DistributedCacheEntryOptions());
        Cache.Remove("a");
        await Cache.RemoveAsync("b");
        Cache.Remove("never");
        await Cache.RemoveAsync("never");
        Assert.Null(Cache.Get("a"));
        Assert.Null(await Cache.GetAsync("b"));
        Assert.Equal(0, Cache.Count);
        Assert.Equal(0, Cache.SizeBytes);
    }

    [Fact]
    public async Task TryGet_writes_the_value_into_the_buffer_writer()
    {
        var big = new byte[100_000];
        Random.Shared.NextBytes(big);
        Cache.Set("a", big, new DistributedCacheEntryOptions());
        var writer = new ArrayBufferWriter<byte>();
        writer.Write("prefix"u8);
        Assert.True(Cache.TryGet("a", writer));
        Assert.Equal(big, writer.WrittenSpan[6..].ToArray());
        using var pooled = new ArrayPoolBufferWriter<byte>();
        Assert.True(await Cache.TryGetAsync("a", pooled));
        Assert.Equal(big, pooled.WrittenSpan.ToArray());
        var untouched = new ArrayBufferWriter<byte>();
        Assert.False(await Cache.TryGetAsync("missing", untouched));
        Assert.Equal(0, untouched.WrittenCount);
    }

    [Fact]
    public async Task Set_of_a_multi_segment_sequence_stores_it_whole()
    {
        var first = new Segment(Entry.Bytes("hello, "));
        var last = first.Append(Entry.Bytes("world"));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        Cache.Set("a", sequence, new DistributedCacheEntryOptions());
        await Cache.SetAsync("b", sequence, Entry.Relative(TimeSpan.FromMinutes(1)));
        Assert.Equal(Entry.Bytes("hello, world"), Cache.Get("a"));
        Assert.Equal(Entry.Bytes("hello, world"), Cache.Get("b"));
    }

    [Fact]
    public void An_expired_entry_is_never_returned_even_before_the_sweep()
    {
        Cache.Set("a", Value, Entry.Relative(TimeSpan.FromSeconds(1)));
        _t.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, Cache.Count); // still in the file: the sweep timer is off
        Assert.Null(Cache.Get("a"));
        Assert.False(Cache.TryGet("a", new ArrayBufferWriter<byte>()));
        Assert.Equal(1, Cache.RemoveExpired());
        Assert.Equal(0, Cache.Count);
    }

    [Fact]
    public void Entries_survive_a_restart_with_their_expiry()
    {
        Cache.Set("a", Value, Entry.Relative(TimeSpan.FromMinutes(10)));
        Cache.Set("b", Value, Entry.Sliding(TimeSpan.FromMinutes(1)));
        long size = Cache.SizeBytes;
        _t.Reopen();
        Assert.Equal(2, Cache.Count);
        Assert.Equal(size, Cache.SizeBytes);
        Assert.Equal(Value, Cache.Get("a"));
        _t.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(Cache.Get("b"));
        Assert.NotNull(Cache.Get("a"));
    }

    [Fact]
    public void Bad_arguments_throw_the_usual_exceptions()
    {
        Assert.Throws<ArgumentNullException>(() => Cache.Get(null!));
        Assert.Throws<ArgumentNullException>(() => Cache.Set("a", null!, new DistributedCacheEntryOptions()));
        Assert.Throws<ArgumentNullException>(() => Cache.Set("a", Value, null!));
        Assert.Throws<ArgumentException>(() => Cache.Set("", Value, new DistributedCacheEntryOptions()));
        Cache.Set(new string('k', 988), Value, new DistributedCacheEntryOptions()); // the longest key with 4 KiB pages
        Assert.Throws<ArgumentException>(() => Cache.Set("big", new byte[Cache.MaximumEntrySize], new DistributedCacheEntryOptions()));
    }

    [Fact]
    public void Unicode_keys_are_distinct_by_their_utf8_bytes()
    {
        Cache.Set("clé", Entry.Bytes("1"), new DistributedCacheEntryOptions());
        Cache.Set("cle", Entry.Bytes("2"), new DistributedCacheEntryOptions());
        Assert.Equal(Entry.Bytes("1"), Cache.Get("clé"));
        Assert.Equal(Entry.Bytes("2"), Cache.Get("cle"));
    }

    [Fact]
    public async Task Use_after_dispose_throws_ObjectDisposedException()
    {
        var cache = _t.Cache;
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.Get("a"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.SetAsync("a", Value, new DistributedCacheEntryOptions()));
        cache.Dispose();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
