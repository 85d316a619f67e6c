using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace MmapKv.Caching.Tests;

/// <summary>
/// A read allocates nothing but what the API hands back: the value's array for Get, nothing for TryGet into a warm
/// buffer, nothing for a miss or a Refresh. Before, every read allocated about 200 B: the key's pooled-buffer owner,
/// the encoded tree name, and a tree handle with its state. Measured per thread over many calls, in rounds: a
/// round may pay for a one-off (a tier-up compile, the pool's first rent on this thread), so one round of several
/// must match exactly.
/// </summary>
public sealed class ReadAllocationTests : IDisposable
{
    private const int Calls = 1000;
    private const int Rounds = 10;
    private readonly TestCache _t = new();
    private MmapKvCache Cache => _t.Cache;
    private static byte[]? s_sink;

    public void Dispose() => _t.Dispose();

    /// <summary>The fewest bytes <see cref="Calls"/> calls of <paramref name="read"/> allocated in one of <see cref="Rounds"/> rounds (exact, not divided).</summary>
    private static long BytesPerRound(Action read)
    {
        long best = long.MaxValue;
        for (int round = 0; round < Rounds && best != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Calls; i++) read();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            best = Math.Min(best, allocated);
        }
        return best;
    }

    /// <summary>Stores <paramref name="count"/> entries of 100 bytes and returns their keys (made here, so no measured call builds a string).</summary>
    private string[] Fill(int count)
    {
        var keys = Enumerable.Range(0, count).Select(i => $"key:{i}").ToArray();
        foreach (var k in keys) Cache.Set(k, new byte[100], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1) });
        return keys;
    }

    [Fact]
    public void Get_allocates_only_the_returned_value()
    {
        var keys = Fill(500);
        long arrays = BytesPerRound(() => s_sink = new byte[100]); // what the value's arrays cost on this runtime
        Assert.True(arrays > 100 * Calls, $"{arrays} B for {Calls} arrays of 100 bytes");
        int n = 0, wrong = 0;
        long hits = BytesPerRound(() =>
        {
            if (Cache.Get(keys[n++ % keys.Length])?.Length != 100) wrong++;
        });
        Assert.Equal(0, wrong);
        Assert.Equal(arrays, hits);
    }

    [Fact]
    public void A_miss_a_TryGet_and_a_Refresh_allocate_nothing()
    {
        var keys = Fill(500);
        var writer = new ArrayBufferWriter<byte>(256);
        const string miss = "key:missing";
        int n = 0, wrong = 0;
        string NextKey() => keys[n++ % keys.Length];
        Assert.Equal(0, BytesPerRound(() => { if (Cache.Get(miss) is not null) wrong++; }));
        Assert.Equal(0, BytesPerRound(() => { if (Cache.GetAsync(miss).Result is not null) wrong++; }));
        Assert.Equal(0, BytesPerRound(() =>
        {
            writer.ResetWrittenCount();
            if (!Cache.TryGet(NextKey(), writer) || writer.WrittenCount != 100) wrong++;
        }));
        Assert.Equal(0, BytesPerRound(() =>
        {
            writer.ResetWrittenCount();
            if (!Cache.TryGetAsync(NextKey(), writer).Result || writer.WrittenCount != 100) wrong++;
        }));
        Assert.Equal(0, BytesPerRound(() => { if (Cache.TryGet(miss, writer)) wrong++; }));
        Assert.Equal(0, BytesPerRound(() => Cache.Refresh(NextKey()))); // an absolute expiry: nothing to slide
        Assert.Equal(0, BytesPerRound(() => Cache.Refresh(miss)));
        Assert.Equal(0, wrong);
    }
}
