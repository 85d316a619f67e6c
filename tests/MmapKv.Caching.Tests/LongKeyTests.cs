using System.Buffers;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;

namespace MmapKv.Caching.Tests;

/// <summary>
/// Keys longer than the engine's key limit (988 UTF-8 bytes with 4 KiB pages) are stored under a hash with the full
/// key in the record (docs/caching.md, "Storage layout"), and a read compares it, so a collision is a miss.
/// </summary>
public sealed class LongKeyTests : IDisposable
{
    private readonly TestCache _t = new();
    private MmapKvCache Cache => _t.Cache;

    public void Dispose() => _t.Dispose();

    private static string LongKey(string prefix, int length, string tail) => prefix + new string('x', length - prefix.Length - tail.Length) + tail;

    [Fact]
    public async Task A_long_key_round_trips_through_every_read_and_a_restart()
    {
        string key = LongKey("user:", 5000, ":profile");
        var value = Entry.Bytes("the value of a long key");
        Cache.Set(key, value, new DistributedCacheEntryOptions());
        Assert.Equal(value, Cache.Get(key));
        Assert.Equal(value, await Cache.GetAsync(key));
        var writer = new ArrayBufferWriter<byte>();
        Assert.True(Cache.TryGet(key, writer));
        Assert.Equal(value, writer.WrittenSpan.ToArray());
        _t.Reopen();
        Assert.Equal(value, Cache.Get(key));
        Assert.Equal(1, Cache.Count);
    }

    [Fact]
    public void Keys_at_and_past_the_limit_both_work_and_only_the_longer_one_is_hashed()
    {
        string atLimit = new('k', 988), pastLimit = new('k', 989);
        Cache.Set(atLimit, [1], new DistributedCacheEntryOptions());
        Cache.Set(pastLimit, [2], new DistributedCacheEntryOptions());
        Assert.Equal(new byte[] { 1 }, Cache.Get(atLimit));
        Assert.Equal(new byte[] { 2 }, Cache.Get(pastLimit));
        Cache.Dispose();
        var treeKeys = new List<byte[]>();
        using (var db = KvDatabase.Open(_t.FilePath, new KvOptions { MaxSize = 64L << 20 }))
        using (var tx = db.BeginRead())
        using (var c = tx.OpenTree(EntryLayout.EntriesTree).OpenCursor())
        {
            for (bool ok = c.First(); ok; ok = c.Next()) treeKeys.Add(c.Key.ToArray());
        }
        Assert.Equal(2, treeKeys.Count);
        Assert.Equal(Encoding.UTF8.GetBytes(atLimit), treeKeys[0]);
        Assert.Equal(EntryLayout.HashedKeySize, treeKeys[1].Length);
        Assert.Equal(EntryLayout.LongKeyMarker, treeKeys[1][0]);
        _t.Reopen();
        Assert.Equal(new byte[] { 2 }, Cache.Get(pastLimit));
    }

    [Fact]
    public void Long_keys_sharing_a_long_prefix_are_distinct()
    {
        string a = LongKey("p", 3000, "A"), b = LongKey("p", 3000, "B"), c = LongKey("p", 3001, "A");
        Cache.Set(a, Entry.Bytes("a"), new DistributedCacheEntryOptions());
        Cache.Set(b, Entry.Bytes("b"), new DistributedCacheEntryOptions());
        Assert.Equal(Entry.Bytes("a"), Cache.Get(a));
        Assert.Equal(Entry.Bytes("b"), Cache.Get(b));
        Assert.Null(Cache.Get(c));
        Cache.Remove(a);
        Assert.Null(Cache.Get(a));
        Assert.Equal(Entry.Bytes("b"), Cache.Get(b));
        Assert.Equal(1, Cache.Count);
    }

    [Fact]
    public void Long_keys_expire_slide_and_are_removed()
    {
        string absolute = LongKey("abs", 2000, ""), sliding = LongKey("sl", 2000, ""), removed = LongKey("rm", 2000, "");
        Cache.Set(absolute, [1], Entry.Relative(TimeSpan.FromMinutes(1)));
        Cache.Set(sliding, [2], Entry.Sliding(TimeSpan.FromMinutes(1)));
        Cache.Set(removed, [3], new DistributedCacheEntryOptions());
        _t.Time.Advance(TimeSpan.FromSeconds(40));
        Assert.NotNull(Cache.Get(sliding));          // slides to 100 s
        Cache.Refresh(sliding);
        _t.Time.Advance(TimeSpan.FromSeconds(40));   // 80 s
        Assert.Null(Cache.Get(absolute));
        Assert.Equal(new byte[] { 2 }, Cache.Get(sliding));
        Cache.Remove(removed);
        Assert.Null(Cache.Get(removed));
        _t.Reopen();
        Assert.Null(Cache.Get(removed));
        Assert.Equal(new byte[] { 2 }, Cache.Get(sliding));
    }

    [Fact]
    public void The_sweep_removes_expired_long_keys_and_their_bytes()
    {
        long empty = Cache.SizeBytes;
        for (int i = 0; i < 300; i++) Cache.Set(LongKey($"gone{i}:", 1500 + i, ""), new byte[100], Entry.Relative(TimeSpan.FromSeconds(10)));
        string live = LongKey("live", 4000, "");
        Cache.Set(live, [7], Entry.Relative(TimeSpan.FromHours(1)));
        long withLive = Cache.SizeBytes;
        _t.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(300, Cache.RemoveExpired());
        Assert.Equal(1, Cache.Count);
        Assert.Equal(new byte[] { 7 }, Cache.Get(live));
        Assert.True(Cache.SizeBytes < withLive);
        Cache.Remove(live);
        Assert.Equal(empty, Cache.SizeBytes);
    }

    [Fact]
    public void A_hash_collision_is_a_miss_and_never_another_keys_value()
    {
        // Simulates a collision without finding one: the record under the key's hash is rewritten to hold another
        // key of the same length, which is what the slot holds after a Set of a colliding key.
        string key = LongKey("mine", 1200, ""), other = LongKey("them", 1200, "");
        Cache.Set(key, Entry.Bytes("theirs"), new DistributedCacheEntryOptions());
        RewriteTheOnlyRecord(record => Encoding.UTF8.GetBytes(other).CopyTo(record, EntryLayout.HeaderSize + EntryLayout.KeyLengthSize));
        Assert.Null(Cache.Get(key));
        Assert.False(Cache.TryGet(key, new ArrayBufferWriter<byte>()));
        Cache.Remove(key);                           // leaves the other key's entry
        Assert.Equal(1, Cache.Count);
        Cache.Set(key, Entry.Bytes("mine"), new DistributedCacheEntryOptions()); // takes the slot
        Assert.Equal(Entry.Bytes("mine"), Cache.Get(key));
        Assert.Equal(1, Cache.Count);
    }

    [Fact]
    public void A_long_key_record_with_a_bad_key_length_is_reported_as_damage()
    {
        string key = LongKey("bad", 1100, "");
        Cache.Set(key, [1, 2, 3], new DistributedCacheEntryOptions());
        RewriteTheOnlyRecord(record => BitConverter.TryWriteBytes(record.AsSpan(EntryLayout.HeaderSize), record.Length));
        Assert.Throws<CorruptDatabaseException>(() => Cache.Get(key));
    }

    /// <summary>Closes the cache, edits the one record in its file with <paramref name="edit"/>, and reopens it.</summary>
    private void RewriteTheOnlyRecord(Action<byte[]> edit)
    {
        Cache.Dispose();
        using (var db = KvDatabase.Open(_t.FilePath, new KvOptions { MaxSize = 64L << 20 }))
        using (var tx = db.BeginWrite())
        {
            var entries = tx.OpenTree(EntryLayout.EntriesTree);
            byte[] treeKey, record;
            using (var c = entries.OpenCursor())
            {
                Assert.True(c.First());
                treeKey = c.Key.ToArray();
                record = c.Value.ToArray();
            }
            edit(record);
            entries.Put(treeKey, record);
            tx.Commit();
        }
        _t.Reopen();
    }
}
