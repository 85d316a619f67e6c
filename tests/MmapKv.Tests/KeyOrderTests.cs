using System.Buffers.Binary;
using MmapKv.BTree;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Key orders (docs/design.md §16): each order's iteration, lookups, cursors and range scans against a sorted model
/// with the matching comparer, over a workload big enough to split and merge pages; reopening keeps the order;
/// wrong orders and comparers are refused; 8-byte keys are enforced; prefix scans are refused; Check uses the order.
/// </summary>
public class KeyOrderTests(ITestOutputHelper output)
{
    /// <summary>Length first, then bytewise descending: an order no built-in one matches.</summary>
    private sealed class LengthThenDescending : IKeyComparer
    {
        public string Name => "tests.length-then-descending/1";
        public int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
            a.Length != b.Length ? a.Length.CompareTo(b.Length) : b.SequenceCompareTo(a);
    }

    private sealed class Other : IKeyComparer
    {
        public string Name => "tests.other/1";
        public int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b);
    }

    private sealed class ModelComparer(Func<byte[], byte[], int> compare) : IComparer<byte[]>
    {
        public int Compare(byte[]? x, byte[]? y) => compare(x!, y!);
    }

    private static IComparer<byte[]> ModelOf(KeyOrder order) => order switch
    {
        KeyOrder.Bytewise => new ModelComparer((a, b) => a.AsSpan().SequenceCompareTo(b)),
        KeyOrder.Reverse => new ModelComparer((a, b) => b.AsSpan().SequenceCompareTo(a)),
        KeyOrder.Int64 => new ModelComparer((a, b) => BinaryPrimitives.ReadInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadInt64LittleEndian(b))),
        KeyOrder.UInt64 => new ModelComparer((a, b) => BinaryPrimitives.ReadUInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadUInt64LittleEndian(b))),
        _ => new ModelComparer((a, b) => new LengthThenDescending().Compare(a, b)),
    };

    private static byte[] RandomKey(Random rng, KeyOrder order)
    {
        if (order is KeyOrder.Int64 or KeyOrder.UInt64)
        {
            var k = new byte[8];
            long v = rng.Next(4) switch
            {
                0 => rng.Next(-300, 300),                        // small, both signs
                1 => long.MinValue + rng.Next(100),
                2 => long.MaxValue - rng.Next(100),
                _ => rng.NextInt64(long.MinValue, long.MaxValue),
            };
            BinaryPrimitives.WriteInt64LittleEndian(k, v);
            return k;
        }
        // Short keys over a small alphabet, so prefixes of one another are common.
        var key = new byte[rng.Next(1, 7)];
        for (int i = 0; i < key.Length; i++) key[i] = (byte)(rng.Next(3) switch { 0 => 0x00, 1 => 0xFF, _ => rng.Next(0x61, 0x65) });
        return key;
    }

    private static KvTree Open(WriteTransaction tx, KeyOrder order) =>
        order == KeyOrder.Custom ? tx.OpenTree("t", new LengthThenDescending()) : tx.OpenTree("t", order);

    private static KvTree OpenRead(ReadTransaction tx, KeyOrder order) =>
        order == KeyOrder.Custom ? tx.OpenTree("t", new LengthThenDescending()) : tx.OpenTree("t", order);

    [Theory]
    [InlineData(KeyOrder.Bytewise)]
    [InlineData(KeyOrder.Reverse)]
    [InlineData(KeyOrder.Int64)]
    [InlineData(KeyOrder.UInt64)]
    [InlineData(KeyOrder.Custom)]
    public void RandomWorkload_MatchesSortedModel_BeforeAndAfterReopen(KeyOrder order)
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}, order {order}");
        var rng = new Random(seed);
        var cmp = ModelOf(order);
        var model = new SortedDictionary<byte[], byte[]>(cmp);
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        {
            for (int round = 0; round < 4; round++)
            {
                using (var tx = db.BeginWrite())
                {
                    var t = Open(tx, order);
                    Assert.Equal(order, t.KeyOrder);
                    for (int i = 0; i < 1500; i++)
                    {
                        var k = RandomKey(rng, order);
                        if (rng.Next(4) == 0)
                            Assert.Equal(model.Remove(k), t.Delete(k));
                        else
                        {
                            var v = new byte[rng.Next(0, 80)];
                            rng.NextBytes(v);
                            t.Put(k, v);
                            model[k] = v;
                        }
                    }
                    tx.Commit();
                }
                using (var r = db.BeginRead()) Verify(OpenRead(r, order), model, cmp, rng);
            }
            Assert.True(db.Check().IsValid, db.Check().ToString());
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var r = db.BeginRead())
            {
                var t = OpenRead(r, order);
                Assert.Equal(order, t.KeyOrder);
                Verify(t, model, cmp, rng);
            }
            using (var tx = db.BeginWrite())
            {
                // Deleting everything empties the tree; it keeps its order.
                var t = Open(tx, order);
                foreach (var k in model.Keys) Assert.True(t.Delete(k));
                Assert.Equal(0, t.Count);
                tx.Commit();
            }
            using (var r = db.BeginRead()) Assert.Equal(order, OpenRead(r, order).KeyOrder);
            Assert.True(db.Check().IsValid, db.Check().ToString());
        }
    }

    private static void Verify(KvTree t, SortedDictionary<byte[], byte[]> model, IComparer<byte[]> cmp, Random rng)
    {
        var keys = model.Keys.ToList();
        Assert.Equal(keys.Count, t.Count);
        var scanned = new List<byte[]>();
        foreach (var e in t.Scan())
        {
            scanned.Add(e.Key.ToArray());
            Assert.Equal(model[e.Key.ToArray()], e.Value.ToArray());
        }
        Assert.Equal(keys, scanned);
        var back = new List<byte[]>();
        foreach (var e in t.Scan().Reverse()) back.Add(e.Key.ToArray());
        back.Reverse();
        Assert.Equal(keys, back);
        foreach (var k in keys) Assert.Equal(model[k], t.Get(k));

        using var c = t.OpenCursor();
        for (int probe = 0; probe < 200 && keys.Count > 0; probe++)
        {
            // A random key, present or not: Seek lands on the first key not less than it, in the tree's order.
            var k = probe % 2 == 0 ? keys[rng.Next(keys.Count)] : RandomKeyLike(rng, keys[0].Length == 8 && keys.All(x => x.Length == 8), keys);
            int at = LowerBound(keys, k, cmp);
            bool found = c.Seek(k);
            Assert.Equal(at < keys.Count, found);
            if (!found) continue;
            Assert.Equal(keys[at], c.Key.ToArray());
            if (c.Next()) Assert.Equal(keys[at + 1], c.Key.ToArray());
            else Assert.Equal(keys.Count - 1, at);
            c.Seek(k);
            if (c.Prev()) Assert.Equal(keys[at - 1], c.Key.ToArray());
            else Assert.Equal(0, at);

            // [from, to) in the tree's order, both directions.
            var to = keys[rng.Next(keys.Count)];
            var expected = keys.Where(x => cmp.Compare(x, k) >= 0 && cmp.Compare(x, to) < 0).ToList();
            var got = new List<byte[]>();
            foreach (var e in t.Scan(k, to)) got.Add(e.Key.ToArray());
            Assert.Equal(expected, got);
            got.Clear();
            foreach (var e in t.Scan(k, to).Reverse()) got.Add(e.Key.ToArray());
            got.Reverse();
            Assert.Equal(expected, got);
        }
    }

    private static byte[] RandomKeyLike(Random rng, bool eightBytes, List<byte[]> keys)
    {
        if (!eightBytes) return RandomKey(rng, KeyOrder.Bytewise);
        var k = (byte[])keys[rng.Next(keys.Count)].Clone();
        BinaryPrimitives.WriteInt64LittleEndian(k, BinaryPrimitives.ReadInt64LittleEndian(k) + rng.Next(-2, 3));
        return k;
    }

    private static int LowerBound(List<byte[]> keys, byte[] key, IComparer<byte[]> cmp)
    {
        int i = 0;
        while (i < keys.Count && cmp.Compare(keys[i], key) < 0) i++;
        return i;
    }

    private static byte[] I64(long v)
    {
        var k = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(k, v);
        return k;
    }

    [Fact]
    public void Int64_IteratesNumerically_NegativeFirst()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("n", KeyOrder.Int64);
            foreach (long v in new[] { 5L, -1L, long.MaxValue, 0L, long.MinValue, 256L }) t.Put(I64(v), [1]);
            var u = tx.OpenTree("u", KeyOrder.UInt64);
            foreach (long v in new[] { 5L, -1L, 0L, 256L }) u.Put(I64(v), [1]);
            tx.Commit();
        }
        using var r = db.BeginRead();
        var got = new List<long>();
        foreach (var e in r.OpenTree("n").Scan()) got.Add(BinaryPrimitives.ReadInt64LittleEndian(e.Key));
        Assert.Equal(new[] { long.MinValue, -1L, 0L, 5L, 256L, long.MaxValue }, got);
        var ugot = new List<ulong>();
        foreach (var e in r.OpenTree("u").Scan()) ugot.Add(BinaryPrimitives.ReadUInt64LittleEndian(e.Key));
        Assert.Equal(new[] { 0UL, 5UL, 256UL, ulong.MaxValue }, ugot);
    }

    [Theory]
    [InlineData(KeyOrder.Int64)]
    [InlineData(KeyOrder.UInt64)]
    public void EightByteOrders_RefuseKeysOfAnotherLength(KeyOrder order)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var t = tx.OpenTree("n", order);
        var e = Assert.Throws<ArgumentException>(() => t.Put("short"u8, [1]));
        Assert.Contains("exactly 8 bytes", e.Message);
        Assert.Throws<ArgumentException>(() => t.Get(new byte[9]));
        Assert.Throws<ArgumentException>(() => t.Delete(new byte[7]));
        Assert.Throws<ArgumentException>(() => t.Scan(new byte[3], default));
        using var c = t.OpenCursor();
        Assert.Throws<ArgumentException>(() => c.Seek(new byte[1]));
        t.Put(I64(1), [1]);
        Assert.Equal(1, t.Count);
    }

    [Theory]
    [InlineData(KeyOrder.Reverse)]
    [InlineData(KeyOrder.Int64)]
    public void ScanPrefix_OnNonBytewiseTree_IsRefused_EmptyPrefixScansAll(KeyOrder order)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        var t = tx.OpenTree("t", order);
        t.Put(I64(1), [1]);
        t.Put(I64(2), [2]);
        var e = Assert.Throws<InvalidOperationException>(() => t.ScanPrefix([1]));
        Assert.Contains(order.ToString(), e.Message);
        int n = 0;
        foreach (var _ in t.ScanPrefix(default)) n++;
        Assert.Equal(2, n);
    }

    [Fact]
    public void WrongOrderOnOpen_Throws_NamingBothOrders()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            tx.OpenTree("r", KeyOrder.Reverse).Put("a"u8, [1]);
            tx.OpenTree("b").Put("a"u8, [1]);
            tx.OpenTree("c", new LengthThenDescending()).Put("a"u8, [1]);
            // In the same transaction too.
            var same = Assert.Throws<InvalidOperationException>(() => tx.OpenTree("r", KeyOrder.Int64));
            Assert.Contains("Reverse", same.Message);
            Assert.Contains("Int64", same.Message);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            var e = Assert.Throws<InvalidOperationException>(() => tx.OpenTree("r", KeyOrder.Bytewise));
            Assert.Contains("Reverse", e.Message);
            Assert.Contains("Bytewise", e.Message);
            Assert.Throws<InvalidOperationException>(() => tx.OpenTree("b", KeyOrder.UInt64));
            Assert.Throws<InvalidOperationException>(() => tx.OpenTree("b", new LengthThenDescending()));
            Assert.Throws<InvalidOperationException>(() => tx.OpenTree("r", new LengthThenDescending()));
            // Without an order, the stored built-in order is taken.
            Assert.Equal(KeyOrder.Reverse, tx.OpenTree("r").KeyOrder);
            Assert.Throws<ArgumentException>(() => tx.OpenTree("new", KeyOrder.Custom));
            Assert.False(tx.TryOpenTree("new", out _));
        }
        using (var r = db.BeginRead())
        {
            Assert.Throws<InvalidOperationException>(() => r.OpenTree("r", KeyOrder.Int64));
            Assert.Equal(KeyOrder.Reverse, r.OpenTree("r", KeyOrder.Reverse).KeyOrder);
            Assert.Throws<KeyNotFoundException>(() => r.OpenTree("missing", KeyOrder.Reverse));
        }
    }

    [Fact]
    public void CustomTree_NeedsItsComparer()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("c", new LengthThenDescending());
            t.Put("bb"u8, [1]);
            t.Put("a"u8, [2]);
            t.Put("zz"u8, [3]);
            tx.Commit();
        }
        using (var db = KvDatabase.Open(dir.File()))
        {
            using (var r = db.BeginRead())
            {
                // Without the comparer: name, count and order, and nothing that needs the order.
                var unbound = r.OpenTree("c");
                Assert.Equal(3, unbound.Count);
                Assert.Equal(KeyOrder.Custom, unbound.KeyOrder);
                var missing = Assert.Throws<InvalidOperationException>(() => unbound.Get("a"u8));
                Assert.Contains("comparer", missing.Message);
                Assert.Throws<InvalidOperationException>(() => unbound.Scan());
                Assert.Throws<InvalidOperationException>(() => unbound.OpenCursor());
                Assert.True(r.TryOpenTree("c", out var unbound2));
                Assert.Throws<InvalidOperationException>(() => unbound2!.Scan(default, default));
                var other = Assert.Throws<InvalidOperationException>(() => r.OpenTree("c", new Other()));
                Assert.Contains("tests.other/1", other.Message);
                Assert.Throws<InvalidOperationException>(() => r.OpenTree("c", KeyOrder.Bytewise));
                Assert.True(r.TryOpenTree("c", new LengthThenDescending(), out var t));
                var keys = new List<string>();
                foreach (var e in t!.Scan()) keys.Add(Bytes.Str(e.Key));
                Assert.Equal("a,zz,bb", string.Join(",", keys));
                Assert.Equal(KeyOrder.Custom, t.KeyOrder);
            }
            using (var tx = db.BeginWrite())
            {
                Assert.Throws<InvalidOperationException>(() => tx.OpenTree("c").Put("d"u8, [1]));
                Assert.Throws<InvalidOperationException>(() => tx.OpenTree("c", new Other()));
                var t = tx.OpenTree("c", new LengthThenDescending());
                t.Put("c"u8, [4]);
                Assert.Equal(4, t.Count);
                tx.Commit();
            }
            // Check walks a custom tree without its comparer: structure and counts, not order.
            Assert.True(db.Check().IsValid, db.Check().ToString());
        }
    }

    [Fact]
    public void Check_UsesTheTreesOrder_AndReportsMisorderedKeys()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("t", KeyOrder.Reverse);
            for (int i = 0; i < 500; i++) t.Put(Bytes.Of($"k{i:D4}"), new byte[40]);
            var b = tx.OpenTree("b");
            for (int i = 0; i < 50; i++) b.Put(Bytes.Of($"k{i:D4}"), [1]);
            tx.Commit();
        }
        Assert.True(db.Check().IsValid, db.Check().ToString());
        using (var tx = db.BeginWrite())
        {
            // Relabel the bytewise tree as reversed, as a damaged descriptor would: its keys now run the wrong way.
            var state = tx.FindTree("b")!;
            state.Desc.Flags = TreeDescriptor.OrderReverse;
            state.Desc.Order = KeyComparer.Reverse;
            state.Dirty = true;
            tx.Commit();
        }
        var report = db.Check();
        Assert.False(report.IsValid);
        Assert.Contains("keys out of order", report.ToString());
        Assert.Contains("tree 'b'", report.ToString());
        Assert.DoesNotContain("tree 't'", report.ToString());
    }

    [Fact]
    public void Descriptor_UnknownOrderCodeOrReservedBits_AreRefused()
    {
        var d = new TreeDescriptor { Flags = 7 };
        Assert.Contains("unknown key order", d.Validate(100));
        d.Flags = TreeDescriptor.OrderReverse | 1u << 20;
        Assert.Contains("reserved", d.Validate(100));
        d.Flags = TreeDescriptor.OrderCustom | 0xABCDu << 16;
        Assert.Null(d.Validate(100));
        d.Flags = TreeDescriptor.OrderInt64 | 0x100; // bit 8 belongs to multimap trees
        Assert.Null(d.Validate(100));
    }

    [Fact]
    public void CompactingCopy_KeepsBuiltInOrders()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            var t = tx.OpenTree("n", KeyOrder.Int64);
            for (long v = -50; v < 50; v++) t.Put(I64(v * 1000), [1]);
            tx.Commit();
        }
        string copy = dir.File("copy.mkv");
        db.CopyTo(copy, compact: true);
        using var c = KvDatabase.Open(copy);
        using var r = c.BeginRead();
        var t2 = r.OpenTree("n", KeyOrder.Int64);
        var got = new List<long>();
        foreach (var e in t2.Scan()) got.Add(BinaryPrimitives.ReadInt64LittleEndian(e.Key));
        Assert.Equal(Enumerable.Range(-50, 100).Select(v => v * 1000L), got);
    }
}
