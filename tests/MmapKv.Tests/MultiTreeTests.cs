using MmapKv.BTree;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Multimap trees (KvMultiTree, docs/format.md §5.1): set semantics per key, the order of the composite keys
/// (prefix keys, 0x00 and 0xFF bytes), large sets spread over many small entries, a seeded model test across commits
/// and reopens, the checker, wrong-kind opens and use after the end.
/// </summary>
public class MultiTreeTests
{
    private static byte[] B(params byte[] b) => b;

    private static List<byte[]> Values(KvMultiTree t, byte[] key, bool reverse = false)
    {
        var list = new List<byte[]>();
        var values = t.Values(key);
        foreach (var v in reverse ? values.Reverse() : values) list.Add(v.ToArray());
        return list;
    }

    private static List<(byte[] Key, byte[] Value)> Pairs(KvMultiTree t, bool reverse = false)
    {
        var list = new List<(byte[], byte[])>();
        var scan = t.Scan();
        foreach (var (k, v) in reverse ? scan.Reverse() : scan) list.Add((k.ToArray(), v.ToArray()));
        return list;
    }

    [Fact]
    public void AddRemoveContainsCount_FollowSetSemantics()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var t = tx.OpenMultiTree("m");
        Assert.Equal("m", t.Name);
        Assert.True(t.Add("k"u8, "b"u8));
        Assert.True(t.Add("k"u8, "a"u8));
        Assert.False(t.Add("k"u8, "a"u8));
        Assert.True(t.Add("k"u8, ""u8)); // an empty value is a value
        Assert.True(t.Add("j"u8, "z"u8));
        Assert.Equal(3, t.Count("k"u8));
        Assert.Equal(1, t.Count("j"u8));
        Assert.Equal(0, t.Count("x"u8));
        Assert.Equal(2, t.KeyCount);
        Assert.Equal(4, t.ValueCount);
        Assert.True(t.Contains("k"u8, ""u8));
        Assert.True(t.Contains("k"u8, "a"u8));
        Assert.False(t.Contains("k"u8, "c"u8));
        Assert.False(t.Contains("j"u8, "a"u8));
        Assert.Equal([B(), Bytes.Of("a"), Bytes.Of("b")], Values(t, Bytes.Of("k")));
        Assert.Equal([Bytes.Of("b"), Bytes.Of("a"), B()], Values(t, Bytes.Of("k"), reverse: true));
        Assert.Empty(Values(t, Bytes.Of("x")));

        Assert.True(t.Remove("k"u8, "a"u8));
        Assert.False(t.Remove("k"u8, "a"u8));
        Assert.False(t.Remove("x"u8, "a"u8));
        Assert.Equal(2, t.Count("k"u8));
        Assert.Equal(2, t.RemoveAll("k"u8));
        Assert.Equal(0, t.RemoveAll("k"u8));
        Assert.Equal(0, t.Count("k"u8));
        Assert.Equal(1, t.KeyCount);
        Assert.Equal(1, t.ValueCount);
        Assert.True(t.Remove("j"u8, "z"u8));
        Assert.Equal(0, t.KeyCount);
        Assert.Equal(0, tx.FindTree("m")!.Desc.Entries); // an empty multimap is an empty tree: no header left
        Assert.True(tx.FindTree("m")!.Desc.IsMultimap); // and keeps its kind
        tx.Commit();
        using var r = db.BeginRead();
        Assert.Equal(0, r.OpenMultiTree("m").KeyCount);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void PrefixKeys_AndZeroAndFfBytes_SortByKeyThenValue()
    {
        // Keys chosen so that a length prefix or a naive separator would break the order: "a" < "a\0" < "a\0\0"
        // < "a\0\x01" < "a\x01" < "a\xFF" < "ab" < "b", with values holding 0x00 and 0xFF too.
        byte[][] keys = [B(0x00), B(0x00, 0x00), B(0x00, 0xFF), B(0x01), Bytes.Of("a"), B(0x61, 0x00), B(0x61, 0x00, 0x00),
            B(0x61, 0x00, 0x01), B(0x61, 0x01), B(0x61, 0xFF), Bytes.Of("ab"), Bytes.Of("b"), B(0xFF), B(0xFF, 0xFF)];
        byte[][] values = [B(), B(0x00), B(0x00, 0x00), B(0x00, 0xFF), B(0x01), B(0xFF), B(0xFF, 0x00), Bytes.Of("ab")];
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var rng = new Random(7);
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenMultiTree("m");
            foreach (var (k, v) in keys.SelectMany(k => values.Select(v => (k, v))).OrderBy(_ => rng.Next()))
                Assert.True(t.Add(k, v));
            tx.Commit();
        }
        var expected = keys.OrderBy(k => k, ByteComparer.Instance)
            .SelectMany(k => values.OrderBy(v => v, ByteComparer.Instance).Select(v => (k, v))).ToList();
        using var r = db.BeginRead();
        var m = r.OpenMultiTree("m");
        var pairs = Pairs(m);
        Assert.Equal(expected.Count, pairs.Count);
        for (int i = 0; i < pairs.Count; i++)
        {
            Assert.Equal(expected[i].k, pairs[i].Key);
            Assert.Equal(expected[i].v, pairs[i].Value);
        }
        var reversed = Pairs(m, reverse: true);
        reversed.Reverse();
        Assert.Equal(pairs.Select(p => Convert.ToHexString(p.Key) + "/" + Convert.ToHexString(p.Value)),
            reversed.Select(p => Convert.ToHexString(p.Key) + "/" + Convert.ToHexString(p.Value)));
        foreach (var k in keys)
        {
            Assert.Equal(values.Length, m.Count(k));
            Assert.Equal(values.OrderBy(v => v, ByteComparer.Instance), Values(m, k));
        }
        Assert.Equal(keys.Length, m.KeyCount);
        Assert.Equal(keys.Length * values.Length, m.ValueCount);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void Encoding_OrdersPairsExactlyAsKeyThenValue()
    {
        // The proof in Format/MultiKey.cs, checked exhaustively over short keys and values of the bytes that matter.
        byte[] alphabet = [0x00, 0x01, 0x02, 0xFE, 0xFF];
        var shorts = new List<byte[]> { B() };
        foreach (var a in alphabet) shorts.Add(B(a));
        foreach (var a in alphabet) foreach (var b in alphabet) shorts.Add(B(a, b));
        foreach (var a in alphabet) foreach (var b in alphabet) foreach (var c in alphabet) shorts.Add(B(a, b, c));
        var keys = shorts.Where(k => k.Length > 0).ToList();
        var vals = shorts.Where(v => v.Length <= 2).ToList();
        var encoded = new List<(byte[] Key, byte[] Value, byte[] Entry)>();
        var buf = new byte[64];
        foreach (var k in keys)
        {
            int c = MultiKey.WritePrefix(k, MultiKey.CountTag, buf);
            Assert.Equal(MultiKey.Kind.Count, MultiKey.Parse(buf.AsSpan(0, c), out int esc, out _));
            Assert.Equal(MultiKey.EscapedLength(k), esc);
            foreach (var v in vals)
            {
                int n = MultiKey.WriteValueKey(k, v, buf);
                var entry = buf[..n];
                Assert.Equal(MultiKey.Kind.Value, MultiKey.Parse(entry, out esc, out bool hasZero));
                Assert.Equal(k.Contains((byte)0), hasZero);
                var decoded = new byte[esc];
                Assert.Equal(k, decoded[..MultiKey.Unescape(entry.AsSpan(0, esc), decoded)]);
                Assert.Equal(v, entry[(esc + 2)..]);
                encoded.Add((k, v, entry));
            }
        }
        var byPair = encoded.OrderBy(e => e.Key, ByteComparer.Instance).ThenBy(e => e.Value, ByteComparer.Instance).ToList();
        var byEntry = encoded.OrderBy(e => e.Entry, ByteComparer.Instance).ToList();
        for (int i = 0; i < byPair.Count; i++) Assert.Same(byPair[i].Entry, byEntry[i].Entry);
        // The header sorts before every count entry, and a count entry before its key's values.
        foreach (var k in keys)
        {
            int c = MultiKey.WritePrefix(k, MultiKey.CountTag, buf);
            Assert.True(MultiKey.HeaderKey.SequenceCompareTo(buf.AsSpan(0, c)) < 0);
            var count = buf[..c];
            Assert.All(encoded.Where(e => e.Key.AsSpan().SequenceEqual(k)), e => Assert.True(count.AsSpan().SequenceCompareTo(e.Entry) < 0));
        }
        Assert.Equal(MultiKey.Kind.Header, MultiKey.Parse(MultiKey.HeaderKey, out _, out _));
        Assert.Equal(MultiKey.Kind.Invalid, MultiKey.Parse(B(0x61), out _, out _));
        Assert.Equal(MultiKey.Kind.Invalid, MultiKey.Parse(B(0x61, 0x00), out _, out _));
        Assert.Equal(MultiKey.Kind.Invalid, MultiKey.Parse(B(0x61, 0x00, 0x02), out _, out _));
        Assert.Equal(MultiKey.Kind.Invalid, MultiKey.Parse(B(0x61, 0x00, 0x00, 0x01), out _, out _));
        Assert.Equal(MultiKey.Kind.Invalid, MultiKey.Parse(B(0x00, 0x01, 0x61), out _, out _));
    }

    [Fact]
    public void HundredThousandValuesUnderOneKey_AreManySmallEntries()
    {
        const int N = 100_000;
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        long leavesAt1000 = 0;
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenMultiTree("big");
            t.Add("other"u8, "x"u8);
            Span<byte> v = stackalloc byte[8];
            for (int i = 0; i < N; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(v, (long)i * 7919 % N); // shuffled order
                Assert.True(t.Add("key"u8, v));
                if (i == 999) leavesAt1000 = tx.FindTree("big")!.Desc.LeafPages;
            }
            Assert.Equal(N, t.Count("key"u8));
            tx.Commit();
        }
        using var r = db.BeginRead();
        var m = r.OpenMultiTree("big");
        Assert.Equal(N, m.Count("key"u8));
        Assert.Equal(2, m.KeyCount);
        Assert.Equal(N + 1, m.ValueCount);
        var state = r.Handle.State.FindTree("big")!;
        Assert.True(state.Desc.LeafPages > leavesAt1000 * 50, $"{state.Desc.LeafPages} leaves at {N} values, {leavesAt1000} at 1000");
        Assert.Equal(0, state.Desc.OverflowPages);
        Assert.Equal(N + 1 + 2 + 1, state.Desc.Entries); // values, two count entries, the header
        // Every entry is small: the composite key is the key, 2 bytes and the value; counts are 8 bytes.
        int largest = 0;
        foreach (var e in new KvTree(r.Handle.State, state, r.Handle.Generation).Scan())
            largest = Math.Max(largest, e.Key.Length + e.Value.Length);
        Assert.True(largest <= 16 + 3 + 2, $"largest entry {largest} bytes");
        long expect = 0, seen = 0;
        foreach (var v in m.Values("key"u8))
        {
            Assert.Equal(expect++, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(v));
            seen++;
        }
        Assert.Equal(N, seen);
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void RandomOperations_MatchSortedModel_AcrossCommitsAndReopen()
    {
        int seed = Environment.GetEnvironmentVariable("MMAPKV_PROP_SEED") is { } s ? (int)ulong.Parse(s) : Random.Shared.Next();
        Console.WriteLine($"[MultiTree model] seed {seed} (replay with MMAPKV_PROP_SEED={seed})");
        var rng = new Random(seed);
        var model = new SortedDictionary<byte[], SortedSet<byte[]>>(ByteComparer.Instance);
        byte[] RandomBytes(int maxLength, bool allowEmpty)
        {
            int n = rng.Next(allowEmpty ? 0 : 1, maxLength + 1);
            var b = new byte[n];
            for (int i = 0; i < n; i++) b[i] = rng.Next(4) switch { 0 => 0x00, 1 => 0xFF, 2 => (byte)('a' + rng.Next(3)), _ => (byte)rng.Next(256) };
            return b;
        }
        var keyPool = Enumerable.Range(0, 40).Select(_ => RandomBytes(4, false)).DistinctBy(Convert.ToHexString).ToArray();
        using var dir = new TempDir();
        var db = KvDatabase.Open(dir.File());
        try
        {
            for (int round = 0; round < 30; round++)
            {
                var tx = db.BeginWrite();
                var t = tx.OpenMultiTree("m");
                var snapshot = new SortedDictionary<byte[], SortedSet<byte[]>>(ByteComparer.Instance);
                foreach (var (k0, set0) in model) snapshot[k0] = new SortedSet<byte[]>(set0, ByteComparer.Instance);
                for (int op = 0; op < 200; op++)
                {
                    var k = keyPool[rng.Next(keyPool.Length)];
                    var v = RandomBytes(3, true);
                    model.TryGetValue(k, out var set);
                    switch (rng.Next(10))
                    {
                        case < 5:
                            bool added = t.Add(k, v);
                            Assert.Equal(set is null || !set.Contains(v), added);
                            if (set is null) model[k] = set = new SortedSet<byte[]>(ByteComparer.Instance);
                            set.Add(v);
                            break;
                        case < 8:
                            if (set is not null && set.Count > 0 && rng.Next(2) == 0) v = set.ElementAt(rng.Next(set.Count));
                            bool removed = t.Remove(k, v);
                            Assert.Equal(set is not null && set.Contains(v), removed);
                            if (removed && set!.Remove(v) && set.Count == 0) model.Remove(k);
                            break;
                        case 8:
                            Assert.Equal(set?.Count ?? 0, t.RemoveAll(k));
                            model.Remove(k);
                            break;
                        default:
                            Assert.Equal(set?.Count ?? 0, t.Count(k));
                            Assert.Equal(set is not null && set.Contains(v), t.Contains(k, v));
                            break;
                    }
                }
                AssertMatches(t, model);
                if (rng.Next(4) == 0)
                {
                    tx.Dispose(); // abort: back to the snapshot
                    model = new SortedDictionary<byte[], SortedSet<byte[]>>(snapshot, ByteComparer.Instance);
                }
                else tx.Commit();
                if (rng.Next(5) == 0)
                {
                    db.Dispose();
                    db = KvDatabase.Open(dir.File());
                }
                using var r = db.BeginRead();
                if (r.TryOpenMultiTree("m", out var rt)) AssertMatches(rt, model);
                else Assert.Empty(model);
            }
            var report = db.Check();
            Assert.True(report.IsValid, string.Join("\n", report.Problems));
        }
        finally { db.Dispose(); }
    }

    private static void AssertMatches(KvMultiTree t, SortedDictionary<byte[], SortedSet<byte[]>> model)
    {
        Assert.Equal(model.Count, t.KeyCount);
        Assert.Equal(model.Values.Sum(s => (long)s.Count), t.ValueCount);
        var expected = model.SelectMany(p => p.Value.Select(v => Convert.ToHexString(p.Key) + "/" + Convert.ToHexString(v))).ToList();
        Assert.Equal(expected, Pairs(t).Select(p => Convert.ToHexString(p.Key) + "/" + Convert.ToHexString(p.Value)));
        foreach (var (k, set) in model)
        {
            Assert.Equal(set.Count, t.Count(k));
            Assert.Equal(set.Select(Convert.ToHexString), Values(t, k).Select(Convert.ToHexString));
            Assert.Equal(set.Reverse().Select(Convert.ToHexString), Values(t, k, reverse: true).Select(Convert.ToHexString));
        }
    }

    [Fact]
    public void WrongKindOpens_AreClearErrors()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenMultiTree("multi").Add("k"u8, "v"u8);
            tx.OpenTree("plain").Put("k"u8, "v"u8);
            var e = Assert.Throws<InvalidOperationException>(() => tx.OpenTree("multi"));
            Assert.Contains("OpenMultiTree", e.Message);
            Assert.Throws<InvalidOperationException>(() => tx.TryOpenTree("multi", out _));
            e = Assert.Throws<InvalidOperationException>(() => tx.OpenMultiTree("plain"));
            Assert.Contains("plain tree", e.Message);
            Assert.Throws<InvalidOperationException>(() => tx.TryOpenMultiTree("plain", out _));
            Assert.False(tx.TryOpenMultiTree("missing", out _));
            tx.Commit();
        }
        using (var r = db.BeginRead())
        {
            Assert.Throws<InvalidOperationException>(() => r.OpenTree("multi"));
            Assert.Throws<InvalidOperationException>(() => r.TryOpenTree("multi", out _));
            Assert.Throws<InvalidOperationException>(() => r.OpenMultiTree("plain"));
            Assert.Throws<KeyNotFoundException>(() => r.OpenMultiTree("missing"));
            Assert.False(r.TryOpenMultiTree("missing", out _));
            var m = r.OpenMultiTree("multi");
            Assert.True(m.Contains("k"u8, "v"u8));
            Assert.Throws<InvalidOperationException>(() => m.Add("k"u8, "w"u8)); // read transaction
            Assert.Equal(["multi", "plain"], r.GetTreeNames());
        }
        using (var tx = db.BeginWrite())
        {
            Assert.True(tx.DeleteTree("multi"));
            tx.OpenTree("multi").Put("a"u8, "b"u8); // the name is free again, for either kind
            tx.Commit();
        }
        using (var r = db.BeginRead()) Assert.Throws<InvalidOperationException>(() => r.OpenMultiTree("multi"));
        Assert.True(db.Check().IsValid);
    }

    [Fact]
    public void BadArguments_AreArgumentExceptions()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var t = tx.OpenMultiTree("m");
        Assert.Throws<ArgumentException>(() => t.Add(""u8, "v"u8));
        Assert.Throws<ArgumentException>(() => t.Count(""u8));
        var key = new byte[10];
        int max = t.MaxValueLength(key);
        Assert.Equal(db.MaxKeySize - 20 - 2, max); // ten 0x00 bytes count twice
        Assert.True(t.Add(key, new byte[max]));
        var e = Assert.Throws<ArgumentException>(() => t.Add(key, new byte[max + 1]));
        Assert.Contains("MaxKeySize", e.Message);
        Assert.Throws<ArgumentException>(() => t.Contains(key, new byte[max + 1]));
        Assert.Throws<ArgumentException>(() => t.Values(new byte[db.MaxKeySize]));
        Assert.Equal(1, t.Count(key));
    }

    [Fact]
    public void EndedTransactions_AndTheirTrees_ThrowObjectDisposed()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        KvMultiTree written;
        using (var tx = db.BeginWrite())
        {
            written = tx.OpenMultiTree("m");
            written.Add("k"u8, "v"u8);
            tx.Commit();
        }
        Assert.Throws<ObjectDisposedException>(() => written.Add("k"u8, "w"u8));
        Assert.Throws<ObjectDisposedException>(() => written.Count("k"u8));
        Assert.Throws<ObjectDisposedException>(() => written.Values("k"u8));
        Assert.Throws<ObjectDisposedException>(() => written.KeyCount);

        var r = db.BeginRead();
        var stale = r.OpenMultiTree("m");
        r.Dispose();
        using var next = db.BeginRead(); // reuses the same state (L5): the stale tree must still refuse
        Assert.Same(r.RawState, next.RawState);
        Assert.Throws<ObjectDisposedException>(() => stale.Count("k"u8));
        Assert.Throws<ObjectDisposedException>(() => stale.Contains("k"u8, "v"u8));
        Assert.Throws<ObjectDisposedException>(() => stale.Scan());
        Assert.Throws<ObjectDisposedException>(() => r.OpenMultiTree("m"));
        Assert.Equal(1, next.OpenMultiTree("m").Count("k"u8));

        // An enumeration begun in a transaction that then ends throws on its next step.
        var r2 = db.BeginRead();
        var values = r2.OpenMultiTree("m");
        var ex = Record.Exception(() =>
        {
            var en = values.Values("k"u8).GetEnumerator();
            Assert.True(en.MoveNext());
            r2.Dispose();
            en.MoveNext();
        });
        Assert.IsType<ObjectDisposedException>(ex);
    }

    [Fact]
    public void WriteDuringEnumeration_ThrowsOnTheNextStep()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var t = tx.OpenMultiTree("m");
        t.Add("k"u8, "a"u8);
        t.Add("k"u8, "b"u8);
        var ex = Record.Exception(() =>
        {
            foreach (var v in t.Values("k"u8)) t.Add("k"u8, "c"u8);
        });
        Assert.IsType<InvalidOperationException>(ex);
    }

    [Fact]
    public void Enumerations_AllocateNothing()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenMultiTree("m");
            for (int k = 0; k < 20; k++)
                for (int v = 0; v < 200; v++) t.Add([(byte)'k', (byte)k, 0x00], [(byte)(v >> 8), (byte)v]); // keys with 0x00
            tx.Commit();
        }
        using var r = db.BeginRead();
        var m = r.OpenMultiTree("m");
        byte[] key = [(byte)'k', 7, 0x00];
        long Round()
        {
            long sum = 0;
            foreach (var v in m.Values(key)) sum += v.Length;
            foreach (var v in m.Values(key).Reverse()) sum += v.Length;
            foreach (var (k, v) in m.Scan()) sum += k.Length + v.Length;
            sum += m.Count(key) + m.KeyCount;
            return sum;
        }
        Assert.Equal(2 * 400 + 4000 * 5 + 200 + 20, Round());
        long allocated = -1;
        for (int i = 0; i < 10 && allocated != 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Round();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("count", "count entry says 5 values, found 2")]
    [InlineData("orphan", "has no count entry")]
    [InlineData("header", "the header says")]
    [InlineData("garbage", "not a multimap key encoding")]
    [InlineData("value", "a value entry's value is 1 bytes")]
    public void Check_ReportsDamagedMultimapContents(string damage, string expected)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenMultiTree("m");
            t.Add("k"u8, "a"u8);
            t.Add("k"u8, "b"u8);
            t.Add("z"u8, "c"u8);
            tx.Commit();
        }
        Assert.True(db.Check().IsValid);
        using (var tx = db.BeginWrite())
        {
            // Writes the raw tree beneath the multimap, as damage would.
            var raw = tx.TreeHandle(tx.FindTree("m")!);
            var count = new byte[8];
            switch (damage)
            {
                case "count":
                    MultiKey.WriteCount(count, 5);
                    raw.Put([(byte)'k', 0x00, 0x00], count);
                    break;
                case "orphan": raw.Put([(byte)'q', 0x00, 0x01, (byte)'x'], default); break;
                case "header":
                    var header = new byte[16];
                    MultiKey.WriteHeader(header, 9, 3);
                    raw.Put(MultiKey.HeaderKey, header);
                    break;
                case "garbage": raw.Put([(byte)'q', 0x00, 0x07], default); break;
                case "value": raw.Put([(byte)'k', 0x00, 0x01, (byte)'a'], [1]); break;
            }
            tx.Commit();
        }
        var report = db.Check();
        Assert.False(report.IsValid);
        Assert.Contains(report.Problems, p => p.Contains("tree 'm'") && p.Contains(expected));
    }

    [Fact]
    public void Descriptor_KeepsTheMultimapFlag_AndRefusesUnknownFlags()
    {
        var d = new TreeDescriptor { Flags = TreeDescriptor.MultimapFlag };
        var bytes = new byte[TreeDescriptor.Size];
        d.Write(bytes);
        Assert.Equal(0x100u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(TreeDescriptor.FlagsOffset)));
        Assert.True(TreeDescriptor.Read(bytes).IsMultimap);
        Assert.Null(TreeDescriptor.Read(bytes).Validate(10));
        Assert.True(d.Emptied.IsMultimap);
        Assert.Contains("unknown descriptor flags", new TreeDescriptor { Flags = 0x200 }.Validate(10));
    }

    [Fact]
    public void CompactCopy_KeepsMultimapTrees()
    {
        // Compaction re-creates every named tree in the copy; a multimap must stay one, not become a plain tree
        // holding composite keys.
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var tx = db.BeginWrite())
            {
                var t = tx.OpenMultiTree("m");
                for (int i = 0; i < 500; i++) t.Add([(byte)(i % 7), 0x00], [(byte)i, (byte)(i >> 8)]);
                tx.Commit();
            }
            db.CopyTo(dir.File("copy.mkv"), compact: true);
        }
        using var copy = KvDatabase.Open(dir.File("copy.mkv"));
        using var r = copy.BeginRead();
        Assert.True(r.IsMultiTree("m"));
        var m = r.OpenMultiTree("m");
        Assert.Equal(7, m.KeyCount);
        Assert.Equal(500, m.ValueCount);
        Assert.Equal(71, m.Count([3, 0x00])); // i = 3, 10, ..., 493
        Assert.True(copy.Check().IsValid);
    }
}
