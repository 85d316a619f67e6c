using Microsoft.Extensions.Caching.Distributed;

namespace MmapKv.Caching;

/// <summary>
/// All expiry arithmetic, following the SQL Server cache: the absolute expiry is
/// <c>now + AbsoluteExpirationRelativeToNow</c> when that is set, else <c>AbsoluteExpiration</c> (which must be in the
/// future); with neither and no sliding window, the default sliding window applies; the entry expires at
/// <c>min(now + sliding, absolute)</c>, and a read or Refresh moves that to <c>min(now + sliding, absolute)</c> again.
/// </summary>
internal static class Expiration
{
    /// <summary>The header of an entry set at <paramref name="nowTicks"/> with <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">AbsoluteExpiration is not in the future (as the SQL Server cache).</exception>
    public static EntryHeader ForSet(DistributedCacheEntryOptions options, long nowTicks, TimeSpan defaultSliding)
    {
        long absolute = 0;
        if (options.AbsoluteExpirationRelativeToNow is TimeSpan relative)
        {
            absolute = Add(nowTicks, relative.Ticks);
        }
        else if (options.AbsoluteExpiration is DateTimeOffset at)
        {
            if (at.UtcTicks <= nowTicks) throw new InvalidOperationException("The absolute expiration value must be in the future.");
            absolute = at.UtcTicks;
        }
        long sliding = options.SlidingExpiration?.Ticks ?? 0;
        if (sliding == 0 && absolute == 0) sliding = defaultSliding.Ticks;
        return new EntryHeader(absolute, sliding, ExpiryAt(absolute, sliding, nowTicks));
    }

    /// <summary>min(now + sliding, absolute), with 0 meaning "none" for either.</summary>
    public static long ExpiryAt(long absoluteTicks, long slidingTicks, long nowTicks)
    {
        if (slidingTicks == 0) return absoluteTicks;
        long slid = Add(nowTicks, slidingTicks);
        return absoluteTicks == 0 ? slid : Math.Min(slid, absoluteTicks);
    }

    /// <summary>
    /// The new expiry when a read at <paramref name="nowTicks"/> slides the window, or 0 when nothing needs
    /// writing: no sliding window, or the gain is below the granularity (a second, or a sixteenth of a shorter
    /// window), so a hot key is rewritten at most about once a second.
    /// </summary>
    public static long SlideTo(in EntryHeader h, long nowTicks)
    {
        if (h.SlidingTicks == 0) return 0;
        long next = ExpiryAt(h.AbsoluteTicks, h.SlidingTicks, nowTicks);
        long granularity = Math.Max(1, Math.Min(h.SlidingTicks / 16, TimeSpan.TicksPerSecond));
        return next - h.ExpiresTicks >= granularity ? next : 0;
    }

    private static long Add(long ticks, long delta)
    {
        long max = DateTimeOffset.MaxValue.UtcTicks;
        return delta >= max - ticks ? max : ticks + delta;
    }
}
