using System.Text.Json;
using System.Text.Json.Serialization;
using Xunit;

namespace MmapKv.Tests;

public sealed record Settings(string Theme, int FontSize, List<string> Recent);

[JsonSerializable(typeof(Settings))]
internal sealed partial class TypedTestJsonContext : JsonSerializerContext;

/// <summary>
/// KvTree&lt;TKey, TValue&gt;: the typed operations over the byte API, ranges in the order of the key encodings,
/// JSON values through a source-generated context, persistence across commit and reopen, and the errors (ended
/// transactions, read-only trees, keys that do not fit, stored bytes the codec cannot read).
/// </summary>
public class TypedTreeTests
{
    [Fact]
    public void Operations_InAWriteTransaction_BehaveLikeADictionary()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var tree = tx.OpenTree<string, long>("counters");
        Assert.Equal("counters", tree.Name);
        Assert.Equal(0, tree.Count);
        Assert.False(tree.TryGet("a", out long missing));
        Assert.Equal(0, missing);

        tree.Put("a", 1);
        tree["b"] = -2;
        Assert.True(tree.TryAdd("c", 3));
        Assert.False(tree.TryAdd("c", 30));
        Assert.Equal(3, tree["c"]);
        Assert.Equal(3, tree.Count);
        Assert.True(tree.TryGet("a", out long a));
        Assert.Equal(1, a);
        Assert.Equal(-2, tree["b"]);
        Assert.True(tree.ContainsKey("b"));
        Assert.False(tree.ContainsKey("z"));
        Assert.Equal(0, tree.GetValueOrDefault("z"));
        Assert.Equal(42, tree.GetValueOrDefault("z", 42));
        Assert.Equal(1, tree.GetValueOrDefault("a", 42));

        tree["a"] = 10; // overwrite
        Assert.Equal(10, tree["a"]);
        Assert.Equal(3, tree.Count);
        Assert.True(tree.Delete("a"));
        Assert.False(tree.Delete("a"));
        Assert.Equal(2, tree.Count);
        var e = Assert.Throws<KeyNotFoundException>(() => tree["a"]);
        Assert.Contains("counters", e.Message);

        // The typed tree writes the byte encodings: the byte API sees them.
        Assert.True(tx.OpenTree("counters").TryGet("b"u8, out var raw));
        Assert.Equal(-2L, KvCodec.Int64.Decode(raw));
        Assert.Same(KvCodec.String, tree.KeyCodec);
        Assert.Same(KvCodec.Int64, tree.ValueCodec);
    }

    [Fact]
    public void TypedTree_SurvivesCommitAndReopen()
    {
        using var dir = new TempDir();
        var id = Guid.NewGuid();
        var when = new DateTime(2026, 12, 2, 3, 4, 5, DateTimeKind.Utc);
        using (var db = KvDatabase.Open(dir.File()))
        {
            using var tx = db.BeginWrite();
            var names = tx.OpenTree<int, string>("names");
            for (int i = -50; i < 50; i++) names[i] = $"n{i}";
            tx.OpenTree<Guid, DateTime>("seen")[id] = when;
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using var tx = db.BeginRead();
            var names = tx.OpenTree<int, string>("names");
            Assert.Equal(100, names.Count);
            Assert.Equal("n-7", names[-7]);
            Assert.Equal("n49", names[49]);
            Assert.False(names.ContainsKey(50));
            var seen = tx.OpenTree("seen", KvCodec.Guid, KvCodec.DateTime);
            Assert.Equal(when, seen[id]);
            Assert.Equal(DateTimeKind.Utc, seen[id].Kind);
            Assert.True(db.Check().IsValid);
        }
    }

    [Fact]
    public void Ranges_ComeInNumericOrder_HalfOpen()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var values = new[] { 5, -1, int.MinValue, 0, 1000, -1000, int.MaxValue, 7, -6 };
        using (var w = db.BeginWrite())
        {
            var t = w.OpenTree<int, long>("ints");
            foreach (int v in values) t.Put(v, (long)v * 2);
            w.Commit();
        }
        using var tx = db.BeginRead();
        var tree = tx.OpenTree<int, long>("ints");
        var sorted = values.Order().ToArray();

        var all = new List<KeyValuePair<int, long>>();
        foreach (var pair in tree) all.Add(pair);
        Assert.Equal(sorted, all.Select(p => p.Key));
        Assert.Equal(sorted.Select(v => (long)v * 2), all.Select(p => p.Value));
        Assert.Equal(sorted, tree.GetAll().Select(p => p.Key)); // through IEnumerable<T>, as LINQ uses it

        Assert.Equal(new[] { -6, -1, 0, 5 }, tree.GetRange(-6, 7).Select(p => p.Key)); // from included, to excluded
        Assert.Equal(new[] { -1, 0, 5 }, tree.GetRange(-5, 6).Select(p => p.Key)); // bounds between keys
        Assert.Equal(new[] { 1000, int.MaxValue }, tree.GetFrom(8).Select(p => p.Key));
        Assert.Empty(tree.GetRange(7, 7));
        Assert.Empty(tree.GetRange(100, -100));
        Assert.Empty(tree.GetFrom(int.MaxValue).Skip(1));
        foreach (var (key, value) in tree.GetRange(int.MinValue, -999)) Assert.Equal((long)key * 2, value);
    }

    [Fact]
    public void Enumeration_InAWriteTransaction_SeesWritesAfterTheCurrentEntry()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var tree = tx.OpenTree<long, long>("t");
        for (long i = 0; i < 10; i += 2) tree.Put(i, i);
        var seen = new List<long>();
        foreach (var (key, _) in tree.GetRange(0, 9))
        {
            seen.Add(key);
            if (key == 2) { tree.Put(3, 3); tree.Delete(4); tree.Put(100, 100); }
        }
        Assert.Equal(new long[] { 0, 2, 3, 6, 8 }, seen);
    }

    [Fact]
    public void JsonValues_RoundTripThroughASourceGeneratedContext_AcrossReopen()
    {
        using var dir = new TempDir();
        var settings = new Settings("dark", 14, ["a.txt", "b.md"]);
        var codec = KvCodec.Json(TypedTestJsonContext.Default.Settings);
        using (var db = KvDatabase.Open(dir.File()))
        {
            using var tx = db.BeginWrite();
            var tree = tx.OpenTree("settings", KvCodec.String, codec);
            tree["user:1"] = settings;
            tree["user:2"] = settings with { Theme = "light", Recent = [] };
            // A value far past the per-thread buffer's initial size, and past the size it keeps.
            tree["big"] = settings with { Recent = Enumerable.Range(0, 20_000).Select(i => $"file{i}.txt").ToList() };
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using var tx = db.BeginRead();
            var tree = tx.OpenTree("settings", KvCodec.String, codec);
            var one = tree["user:1"];
            Assert.Equal("dark", one.Theme);
            Assert.Equal(14, one.FontSize);
            Assert.Equal(new[] { "a.txt", "b.md" }, one.Recent);
            Assert.Equal("light", tree["user:2"].Theme);
            Assert.Equal(20_000, tree["big"].Recent.Count);
            Assert.Equal("file19999.txt", tree["big"].Recent[^1]);
            // Stored as the JSON text the context writes.
            Assert.True(tx.OpenTree("settings").TryGet("user:2"u8, out var raw));
            Assert.Equal(JsonSerializer.Serialize(settings with { Theme = "light", Recent = [] }, TypedTestJsonContext.Default.Settings), Bytes.Str(raw));
        }
    }

    [Fact]
    public void JsonValue_Malformed_IsAKvDecodeExceptionWithTheJsonError()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        tx.OpenTree("settings").Put("k"u8, "{\"Theme\": "u8);
        var tree = tx.OpenTree("settings", KvCodec.String, KvCodec.Json(TypedTestJsonContext.Default.Settings));
        var e = Assert.Throws<KvDecodeException>(() => tree["k"]);
        Assert.IsAssignableFrom<JsonException>(e.InnerException);
        Assert.Contains("'settings'", e.Message);
    }

    /// <summary>A tree written with 4-byte ints and read as 8-byte longs: the error names the tree and both lengths.</summary>
    [Fact]
    public void WrongLengthValue_IsAKvDecodeExceptionNamingTheTreeAndLengths()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite())
        {
            w.OpenTree<string, int>("scores")["alice"] = 7;
            w.Commit();
        }
        using var tx = db.BeginRead();
        var wrong = tx.OpenTree<string, long>("scores");
        var e = Assert.Throws<KvDecodeException>(() => wrong.TryGet("alice", out _));
        Assert.Equal("scores", e.TreeName);
        Assert.Equal(5, e.KeyLength);
        Assert.Contains("'scores'", e.Message);
        Assert.Contains("value of 4 bytes", e.Message);
        Assert.Contains("key of 5 bytes", e.Message);
        Assert.IsType<FormatException>(e.InnerException);
        Assert.DoesNotContain("alice", e.Message); // lengths, never the bytes
        Assert.Throws<KvDecodeException>(() => wrong.GetAll().ToList());
        Assert.True(wrong.ContainsKey("alice")); // decodes nothing
    }

    [Fact]
    public void WrongLengthKey_InAnEnumeration_IsAKvDecodeException()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        tx.OpenTree("ids").Put(new byte[] { 1, 2, 3 }, new byte[4]);
        var e = Assert.Throws<KvDecodeException>(() => tx.OpenTree<int, int>("ids").GetAll().ToList());
        Assert.Contains("stored key of 3 bytes", e.Message);
        Assert.Equal(3, e.KeyLength);
    }

    [Fact]
    public void Keys_PastTheStackBuffer_UseThePool_AndTooLongOnesAreRefused()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var tree = tx.OpenTree<string, int>("long");
        string medium = new('m', 600), atLimit = new('x', db.MaxKeySize), tooLong = new('y', db.MaxKeySize + 1);
        string wide = new('é', db.MaxKeySize / 2 + 1); // fits as chars, not as UTF-8 (2 bytes each)
        tree[medium] = 1;
        tree[atLimit] = 2;
        Assert.Equal(1, tree[medium]);
        Assert.Equal(2, tree[atLimit]);
        Assert.True(tree.ContainsKey(atLimit));
        Assert.Equal(new[] { medium, atLimit }, tree.GetFrom(medium).Select(p => p.Key));
        Assert.True(tree.Delete(medium));
        foreach (var bad in new[] { tooLong, wide })
        {
            var e = Assert.Throws<ArgumentException>(() => tree.Put(bad, 3));
            Assert.Contains($"{db.MaxKeySize}", e.Message);
            Assert.Throws<ArgumentException>(() => tree.TryGet(bad, out _));
            Assert.Throws<ArgumentException>(() => tree.GetFrom(bad));
        }
        Assert.Throws<ArgumentException>(() => tree.Put("", 1)); // encodes to no bytes
        Assert.Throws<ArgumentException>(() => tree.GetRange("", "a"));
        Assert.Throws<ArgumentException>(() => tree.Put("a\uDC00", 1)); // no UTF-8 form
        Assert.Equal(1, tree.Count);
    }

    [Fact]
    public void ReadTransactionTree_RefusesWrites_AndMissingTreesAreNotFound()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite())
        {
            w.OpenTree<int, int>("t")[1] = 1;
            w.Commit();
        }
        using var tx = db.BeginRead();
        var tree = tx.OpenTree<int, int>("t");
        Assert.Throws<InvalidOperationException>(() => tree.Put(2, 2));
        Assert.Throws<InvalidOperationException>(() => tree[2] = 2);
        Assert.Throws<InvalidOperationException>(() => tree.TryAdd(1, 1)); // even when the key exists
        Assert.Throws<InvalidOperationException>(() => tree.Delete(1));
        Assert.Throws<KeyNotFoundException>(() => tx.OpenTree<int, int>("missing"));
        Assert.False(tx.TryOpenTree("missing", KvCodec.Int32, KvCodec.Int32, out var none));
        Assert.Null(none);
        Assert.True(tx.TryOpenTree("t", KvCodec.Int32, KvCodec.Int32, out var found));
        Assert.Equal(1, found.Count);
        Assert.Throws<NotSupportedException>(() => tx.OpenTree<decimal, int>("t"));
    }

    [Fact]
    public void WriteTransaction_TryOpenTree_FindsOnlyExistingTrees()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        Assert.False(tx.TryOpenTree("t", KvCodec.Int32, KvCodec.String, out _));
        tx.OpenTree<int, string>("t")[1] = "one";
        Assert.True(tx.TryOpenTree("t", KvCodec.Int32, KvCodec.String, out var tree));
        Assert.Equal("one", tree[1]);
    }

    /// <summary>Each typed member on a tree whose transaction ended, by name.</summary>
    private static readonly Dictionary<string, Action<KvTree<int, long>>> Members = new()
    {
        ["TryGet"] = t => t.TryGet(1, out _),
        ["Indexer get"] = t => _ = t[1],
        ["GetValueOrDefault"] = t => t.GetValueOrDefault(1),
        ["ContainsKey"] = t => t.ContainsKey(1),
        ["Count"] = t => _ = t.Count,
        ["Put"] = t => t.Put(1, 1),
        ["Indexer set"] = t => t[1] = 1,
        ["TryAdd"] = t => t.TryAdd(5, 5),
        ["Delete"] = t => t.Delete(1),
        ["GetAll"] = t => t.GetAll().ToList(),
        ["GetRange"] = t => t.GetRange(0, 5).ToList(),
    };

    public static TheoryData<string> MemberNames => new(Members.Keys);

    [Theory]
    [MemberData(nameof(MemberNames))]
    public void WriteTransactionTree_AfterCommit_ThrowsObjectDisposed(string member)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        var tree = tx.OpenTree<int, long>("t");
        tree[1] = 1;
        tx.Commit();
        Assert.Throws<ObjectDisposedException>(() => Members[member](tree));
    }

    [Theory]
    [MemberData(nameof(MemberNames))]
    public void ReadTransactionTree_AfterDispose_ThrowsObjectDisposed(string member)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var w = db.BeginWrite())
        {
            w.OpenTree<int, long>("t")[1] = 1;
            w.Commit();
        }
        var tx = db.BeginRead();
        var tree = tx.OpenTree<int, long>("t");
        tx.Dispose();
        using var next = db.BeginRead(); // reuses the state behind the handle: the old tree must stay dead (L5)
        if (member is "Put" or "Indexer set" or "TryAdd" or "Delete")
            Assert.Throws<InvalidOperationException>(() => Members[member](tree)); // a read tree refuses writes first
        else
            Assert.Throws<ObjectDisposedException>(() => Members[member](tree));
    }

    [Fact]
    public void Enumerator_AfterTheTransactionEnds_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var tx = db.BeginWrite();
        var tree = tx.OpenTree<int, long>("t");
        for (int i = 0; i < 3; i++) tree[i] = i;
        var e = tree.GetEnumerator();
        Assert.True(e.MoveNext());
        tx.Dispose();
        Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
        e.Dispose();
        Assert.False(e.MoveNext()); // disposed enumerations are over
    }

    [Fact]
    public void OpenTree_OnAnEndedTransaction_ThrowsObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var w = db.BeginWrite();
        w.Dispose();
        Assert.Throws<ObjectDisposedException>(() => w.OpenTree<int, int>("t"));
        var r = db.BeginRead();
        r.Dispose();
        Assert.Throws<ObjectDisposedException>(() => r.OpenTree<int, int>("t"));
    }

    /// <summary>A lookup of fixed-size keys and values allocates nothing, nor does a put after the first on a thread.</summary>
    [Fact]
    public void FixedSizeLookupsAndPuts_AllocateNothing()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var tree = tx.OpenTree<long, Guid>("t");
        var ids = Enumerable.Range(0, 2000).Select(_ => Guid.NewGuid()).ToArray();
        for (int i = 0; i < ids.Length; i++) tree.Put(i, ids[i]);
        var strings = tx.OpenTree<string, long>("s");
        var names = Enumerable.Range(0, 2000).Select(i => $"name:{i}").ToArray();
        foreach (var n in names) strings[n] = n.Length;
        long sum = 0;
        void Work()
        {
            for (int i = 0; i < ids.Length; i++)
            {
                if (tree.TryGet(i, out var g) && g == ids[i]) sum++;
                tree.Put(i, ids[i]);
            }
            foreach (var n in names)
                if (strings.TryGet(n, out long v)) sum += v;
        }
        Work(); // warm up (JIT, the per-thread value buffer)
        Work();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sum > 0);
        Assert.Equal(0, allocated);
    }
}
