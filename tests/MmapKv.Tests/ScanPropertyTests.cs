using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Randomized: Scan, ScanPrefix and their Reverse, on the default tree and a named tree, in a read transaction and
/// in a write transaction with uncommitted changes, against a SortedDictionary model. Keys come from a five-byte
/// alphabet with 0x00 and 0xFF (lengths 1 to 5), so bounds and prefixes often equal keys, sit between them, or end
/// in 0xFF; values are sometimes overflow runs; a few thousand entries make trees of several levels. The seed is
/// printed; replay with MMAPKV_PROP_SEED, more rounds with MMAPKV_PROP_ITERS.
/// </summary>
public class ScanPropertyTests
{
    private static readonly byte[] Alphabet = [0x00, 0x01, 0x7F, 0xFE, 0xFF];

    private static byte[] RandomKey(Random rng, int minLength)
    {
        var k = new byte[rng.Next(minLength, 6)];
        for (int i = 0; i < k.Length; i++) k[i] = Alphabet[rng.Next(Alphabet.Length)];
        return k;
    }

    private static byte[] ValueFor(Random rng, byte[] key, bool large)
    {
        var v = new byte[rng.Next(20) == 0 ? 1500 + rng.Next(3000) : large ? 400 + rng.Next(400) : rng.Next(40)];
        rng.NextBytes(v);
        if (v.Length > 0) v[0] = (byte)key.Length;
        return v;
    }

    /// <summary>A bound: open (empty) a fifth of the time, otherwise a key of the alphabet (often one that is stored).</summary>
    private static byte[] RandomBound(Random rng, SortedDictionary<byte[], byte[]> model) =>
        rng.Next(5) switch
        {
            0 => [],
            1 when model.Count > 0 => model.Keys.ElementAt(rng.Next(model.Count)),
            _ => RandomKey(rng, 1),
        };

    private static IEnumerable<KeyValuePair<byte[], byte[]>> Expected(SortedDictionary<byte[], byte[]> model, byte[] from, byte[] to, byte[]? prefix, bool reverse)
    {
        var cmp = ByteComparer.Instance;
        var q = model.Where(p => prefix is not null
            ? p.Key.AsSpan().StartsWith(prefix)
            : (from.Length == 0 || cmp.Compare(p.Key, from) >= 0) && (to.Length == 0 || cmp.Compare(p.Key, to) < 0));
        return reverse ? q.Reverse() : q;
    }

    private static void AssertSame(IEnumerable<KeyValuePair<byte[], byte[]>> expected, KvScan scan, string what)
    {
        using var want = expected.GetEnumerator();
        int n = 0;
        foreach (var e in scan)
        {
            Assert.True(want.MoveNext(), $"{what}: extra entry {Convert.ToHexString(e.Key)} at {n}");
            Assert.True(e.Key.SequenceEqual(want.Current.Key), $"{what}: entry {n} is {Convert.ToHexString(e.Key)}, expected {Convert.ToHexString(want.Current.Key)}");
            Assert.True(e.Value.SequenceEqual(want.Current.Value), $"{what}: value of {Convert.ToHexString(e.Key)} differs");
            n++;
        }
        Assert.False(want.MoveNext(), $"{what}: missing entry {(want.Current.Key is null ? "" : Convert.ToHexString(want.Current.Key))} at {n}");
    }

    private static void CheckQueries(Random rng, SortedDictionary<byte[], byte[]> model, Func<byte[], byte[], bool, string, KvScan> scan,
        Func<byte[], bool, KvScan> scanPrefix, string where, int queries)
    {
        for (int q = 0; q < queries; q++)
        {
            bool reverse = rng.Next(2) == 0;
            if (rng.Next(2) == 0)
            {
                byte[] from = RandomBound(rng, model), to = RandomBound(rng, model);
                string what = $"{where} Scan({Convert.ToHexString(from)}, {Convert.ToHexString(to)}){(reverse ? ".Reverse()" : "")}";
                AssertSame(Expected(model, from, to, null, reverse), scan(from, to, reverse, what), what);
            }
            else
            {
                byte[] prefix = rng.Next(6) == 0 ? [] : RandomKey(rng, 3)[..rng.Next(1, 4)];
                if (rng.Next(4) == 0) Array.Fill(prefix, (byte)0xFF);
                string what = $"{where} ScanPrefix({Convert.ToHexString(prefix)}){(reverse ? ".Reverse()" : "")}";
                AssertSame(Expected(model, [], [], prefix, reverse), scanPrefix(prefix, reverse), what);
            }
        }
    }

    [Fact]
    public void RandomRangesAndPrefixes_MatchASortedDictionaryModel()
    {
        ulong seed = PropertyRunner.Seed();
        int rounds = PropertyRunner.Iterations(4);
        Console.WriteLine($"[ScanPropertyTests] seed {seed}, {rounds} rounds (replay with MMAPKV_PROP_SEED={seed})");
        var rng = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        try
        {
            for (int round = 0; round < rounds; round++) Round(rng, round);
        }
        catch (Exception e)
        {
            throw new Exception($"[ScanPropertyTests] failed; replay with MMAPKV_PROP_SEED={seed}{Environment.NewLine}{e.Message}", e);
        }
    }

    private static void Round(Random rng, int round)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var main = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance);
        var named = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance);
        // The first round: (nearly) empty trees; the second: larger values, so the default tree has three levels.
        int size = round switch { 0 => rng.Next(0, 5), 1 => 6000, _ => rng.Next(500, 4000) };
        bool large = round == 1;
        using (var w = db.BeginWrite())
        {
            var t = w.OpenTree("t");
            for (int i = 0; i < size; i++)
            {
                var k = RandomKey(rng, 1);
                var v = ValueFor(rng, k, large);
                if (rng.Next(3) == 0) { t.Put(k, v); named[k] = v; }
                else { w.Put(k, v); main[k] = v; }
            }
            w.Commit();
        }
        if (round == 1) Assert.True(db.GetStats().Main.Depth >= 3, $"depth {db.GetStats().Main.Depth}");
        using (var r = db.BeginRead())
        {
            var t = r.OpenTree("t");
            CheckQueries(rng, main, (f, to, rev, _) => rev ? r.Scan(f, to).Reverse() : r.Scan(f, to),
                (p, rev) => rev ? r.ScanPrefix(p).Reverse() : r.ScanPrefix(p), $"round {round} read main", 60);
            CheckQueries(rng, named, (f, to, rev, _) => rev ? t.Scan(f, to).Reverse() : t.Scan(f, to),
                (p, rev) => rev ? t.ScanPrefix(p).Reverse() : t.ScanPrefix(p), $"round {round} read named", 30);
        }
        // Uncommitted changes: puts, overwrites and deletes, seen by the write transaction's own scans.
        using (var w = db.BeginWrite())
        {
            var t = w.OpenTree("t");
            for (int i = 0; i < size / 2 + 5; i++)
            {
                var k = rng.Next(3) == 0 && main.Count > 0 ? main.Keys.ElementAt(rng.Next(main.Count)) : RandomKey(rng, 1);
                switch (rng.Next(4))
                {
                    case 0: w.Delete(k); main.Remove(k); break;
                    case 1: t.Delete(k); named.Remove(k); break;
                    case 2: { var v = ValueFor(rng, k, large); t.Put(k, v); named[k] = v; break; }
                    default: { var v = ValueFor(rng, k, large); w.Put(k, v); main[k] = v; break; }
                }
            }
            CheckQueries(rng, main, (f, to, rev, _) => rev ? w.Scan(f, to).Reverse() : w.Scan(f, to),
                (p, rev) => rev ? w.ScanPrefix(p).Reverse() : w.ScanPrefix(p), $"round {round} write main", 40);
            CheckQueries(rng, named, (f, to, rev, _) => rev ? t.Scan(f, to).Reverse() : t.Scan(f, to),
                (p, rev) => rev ? t.ScanPrefix(p).Reverse() : t.ScanPrefix(p), $"round {round} write named", 20);
            // The copying form agrees with the model too.
            var all = w.Scan().AsEnumerable().ToList();
            Assert.Equal(main.Keys, all.Select(p => p.Key), new ByteArrayEquality());
            Assert.Equal(main.Keys.Reverse(), w.Scan().Reverse().AsEnumerable().Select(p => p.Key), new ByteArrayEquality());
        }
    }

    private sealed class ByteArrayEquality : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] obj) => obj.Length;
    }
}
