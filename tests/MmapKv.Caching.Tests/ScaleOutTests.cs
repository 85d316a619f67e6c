namespace MmapKv.Caching.Tests;

/// <summary>
/// Scaling out (docs/caching.md, "Scaling out"): two processes, each with FusionCache over its own MmapKvCache file,
/// share FusionCache's Redis backplane on a real redis-server. A Set or Remove on one node must invalidate the
/// other's entry, in its memory level and in its file. The backplane is eventually consistent: the file's entry goes
/// first and the memory entry just after, so each check waits (at most 15 s) for the state it expects; a read that
/// still returns the old value then is "cached", which does not change that state.
/// </summary>
public sealed class ScaleOutTests : IDisposable
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(15);
    private readonly TempDir _dir = new();
    private readonly RedisServer _redis = new();

    public void Dispose()
    {
        _redis.Dispose();
        _dir.Dispose();
    }

    /// <summary>Both nodes are subscribed: a Set on each reaches the other.</summary>
    private static void Connect(CacheNode a, CacheNode b)
    {
        for (int i = 0; ; i++)
        {
            Assert.Equal("ok", a.Send($"set warm-a{i} x"));
            Assert.Equal("ok", b.Send($"set warm-b{i} x"));
            if (b.Await($"received warm-a{i}", "1", TimeSpan.FromSeconds(1)) == "1" && a.Await($"received warm-b{i}", "1", TimeSpan.FromSeconds(1)) == "1") return;
            Assert.True(i < 20, "the two nodes never received each other's backplane messages");
        }
    }

    [Fact]
    public void A_Set_or_Remove_on_one_node_removes_the_entry_from_the_other_nodes_memory_and_file()
    {
        using var a = new CacheNode(_dir.File("a.mkv"), _redis.Port, plugin: true);
        using var b = new CacheNode(_dir.File("b.mkv"), _redis.Port, plugin: true);
        Connect(a, b);

        Assert.Equal("b0 factory", b.Send("getorset item b0"));
        Assert.Equal("b0 cached", b.Send("getorset item unused"));
        Assert.Equal("hit b0", b.Send("l2 item"));

        // A Set on A (once B's own Set has reached A, so that it cannot arrive later and clear A's new entry): B's
        // file loses the entry, and B's next read runs its factory instead of returning b0.
        Assert.Equal("1", a.Await("received item", "1", Propagation));
        Assert.Equal("ok", a.Send("set item a1"));
        Assert.Equal("hit a1", a.Send("l2 item"));
        Assert.Equal("miss", b.Await("l2 item", "miss", Propagation));
        Assert.Equal("b1 factory", b.Await("getorset item b1", "b1 factory", Propagation));
        Assert.Equal("hit b1", b.Send("l2 item"));

        // A Remove on A: the same.
        Assert.Equal("ok", a.Send("remove item"));
        Assert.Equal("miss", a.Send("l2 item"));
        Assert.Equal("miss", b.Await("l2 item", "miss", Propagation));
        Assert.Equal("b2 factory", b.Await("getorset item b2", "b2 factory", Propagation));

        // And the other way round, B to A.
        Assert.Equal("a3 factory", a.Send("getorset other a3"));
        Assert.Equal("ok", b.Send("set other b3"));
        Assert.Equal("miss", a.Await("l2 other", "miss", Propagation));
        Assert.Equal("a4 factory", a.Await("getorset other a4", "a4 factory", Propagation));
    }

    [Fact]
    public void Without_the_plugin_the_other_node_keeps_serving_its_own_stale_copy()
    {
        // Pins why LocalL2BackplaneInvalidation exists: FusionCache's backplane alone only touches the memory level
        // and rereads the distributed level, which here is the node's own file with the old entry.
        using var a = new CacheNode(_dir.File("a.mkv"), _redis.Port, plugin: false);
        using var b = new CacheNode(_dir.File("b.mkv"), _redis.Port, plugin: false);
        Connect(a, b);

        Assert.Equal("b0 factory", b.Send("getorset item b0"));
        Assert.Equal("ok", a.Send("set item a1"));
        Assert.Equal("1", b.Await("received item", "1", Propagation));
        Assert.Equal("hit b0", b.Send("l2 item"));
        Assert.Equal("b0 cached", b.Send("getorset item b1"));

        Assert.Equal("ok", a.Send("remove item"));
        Assert.Equal("2", b.Await("received item", "2", Propagation));
        Assert.Equal("hit b0", b.Send("l2 item"));
        Assert.Equal("b0 cached", b.Send("getorset item b2"));
    }
}
