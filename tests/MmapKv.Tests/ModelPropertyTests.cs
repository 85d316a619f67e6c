using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Model-based property test: random operation sequences run against MmapKv and against a SortedDictionary model;
/// after every step the database must equal the model and pass Check(). Seeds are printed and replayable
/// (MMAPKV_PROP_SEED); failing sequences shrink.
/// </summary>
public class ModelPropertyTests
{
    public abstract record Op;
    public sealed record Put(int Tree, int Key, int Size, int Seed) : Op;
    public sealed record Delete(int Tree, int Key) : Op;
    public sealed record PutMany(int Tree, int FirstKey, int Count, int Size) : Op;
    public sealed record DeleteMany(int Tree, int FirstKey, int Count) : Op;
    public sealed record Commit : Op;
    public sealed record Abort : Op;
    public sealed record Walk(int Tree, int SeekKey, bool Forward, int Steps) : Op;
    public sealed record Reopen : Op;
    public sealed record DropTree(int Tree) : Op;

    public sealed record Case(int PageSize, Op[] Ops)
    {
        public override string ToString() => $"PageSize={PageSize}, Ops=[{string.Join(", ", Ops.Select(o => o.ToString()))}]";
    }

    internal const int KeySpace = 600;

    /// <summary>Keys of many shapes: short, prefixed, binary, and a few near the size limit.</summary>
    internal static byte[] KeyOf(int k, int maxKeySize)
    {
        if (k % 97 == 0) return Enumerable.Repeat((byte)(k % 251), maxKeySize - k % 7).ToArray();
        if (k % 31 == 0) return new[] { (byte)(k % 256), (byte)0 }; // 2 bytes, with a zero byte
        if (k % 13 == 0) return Bytes.Of($"k{k:D4}").Concat(Enumerable.Repeat((byte)0xFF, 150 + k % 200)).ToArray();
        return Bytes.Of($"key{k:D4}");
    }

    internal static byte[] ValueOf(int size, int seed)
    {
        var v = new byte[size];
        new Random(seed).NextBytes(v);
        return v;
    }

    private static readonly Gen<int> TreeGen = Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)));
    private static readonly Gen<int> SizeGen = Gen.Frequency(
        (6, Gen.Choose(0, 40)), (2, Gen.Choose(300, 1100)), (1, Gen.Choose(1100, 20000)));
    private static readonly Gen<int> KeyGen = Gen.Choose(0, KeySpace - 1);

    private static readonly Gen<Op> OpGen = Gen.Frequency(
        (30, from t in TreeGen from k in KeyGen from s in SizeGen from seed in Gen.Choose(0, 1 << 20) select (Op)new Put(t, k, s, seed)),
        (12, from t in TreeGen from k in KeyGen select (Op)new Delete(t, k)),
        (4, from t in TreeGen from k in KeyGen from n in Gen.Choose(20, 300) from s in Gen.Choose(0, 200) select (Op)new PutMany(t, k, n, s)),
        (3, from t in TreeGen from k in KeyGen from n in Gen.Choose(20, 300) select (Op)new DeleteMany(t, k, n)),
        (10, Gen.Constant((Op)new Commit())),
        (3, Gen.Constant((Op)new Abort())),
        (6, from t in TreeGen from k in Gen.Choose(-1, KeySpace - 1) from f in Gen.Elements(true, false) from n in Gen.Choose(1, 50) select (Op)new Walk(t, k, f, n)),
        (2, Gen.Constant((Op)new Reopen())),
        (1, from t in Gen.Choose(1, 2) select (Op)new DropTree(t)));

    private static Arbitrary<Case> CaseArb()
    {
        var gen = from ps in Gen.Elements(4096, 4096, 8192)
                  from ops in Gen.ArrayOf(OpGen)
                  select new Case(ps, ops);
        return Arb.From(gen, c => PropertyRunner.ShrinkList(c.Ops).Select(o => c with { Ops = o }));
    }

    [Fact]
    public void RandomOperations_MatchSortedDictionaryModel()
    {
        PropertyRunner.Run("model", CaseArb(), c =>
        {
            using var h = new ModelHarness(c.PageSize);
            for (int i = 0; i < c.Ops.Length; i++)
            {
                try { h.Apply(c.Ops[i]); }
                catch (Exception e) { throw new Exception($"step {i} ({c.Ops[i]}) failed: {e.Message}", e); }
            }
            h.Apply(new Commit());
            h.Apply(new Reopen());
        }, PropertyRunner.Iterations(150)); // MMAPKV_PROP_ITERS
    }
}

/// <summary>Drives a database and a model side by side, checking them against each other after every step.</summary>
internal sealed class ModelHarness : IDisposable
{
    private static readonly string[] TreeNames = { "", "alpha", "beta" };
    private readonly TempDir _dir = new();
    private readonly KvOptions _options;
    private KvDatabase _db;
    private WriteTransaction? _tx;
    private Dictionary<int, SortedDictionary<byte[], byte[]>> _committed = NewModel();
    private Dictionary<int, SortedDictionary<byte[], byte[]>>? _pending;

    public ModelHarness(int pageSize)
    {
        _options = new KvOptions { PageSize = pageSize, MaxSize = 1L << 30 };
        _db = KvDatabase.Open(_dir.File(), _options);
    }

    private static Dictionary<int, SortedDictionary<byte[], byte[]>> NewModel() =>
        new() { [0] = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance) };

    private static Dictionary<int, SortedDictionary<byte[], byte[]>> Copy(Dictionary<int, SortedDictionary<byte[], byte[]>> m) =>
        m.ToDictionary(p => p.Key, p => new SortedDictionary<byte[], byte[]>(p.Value, ByteComparer.Instance));

    private byte[] Key(int k) => ModelPropertyTests.KeyOf(k, _db.MaxKeySize);

    private WriteTransaction Tx()
    {
        if (_tx is null)
        {
            _tx = _db.BeginWrite();
            _pending = Copy(_committed);
        }
        return _tx;
    }

    /// <summary>Write access to a tree; named trees are created on first use, in both the database and the model.</summary>
    private (Action<byte[], byte[]> put, Func<byte[], bool> del, SortedDictionary<byte[], byte[]> model) WriteTree(int tree)
    {
        var tx = Tx();
        if (!_pending!.TryGetValue(tree, out var model)) _pending[tree] = model = new(ByteComparer.Instance);
        if (tree == 0) return ((k, v) => tx.Put(k, v), k => tx.Delete(k), model);
        var t = tx.OpenTree(TreeNames[tree]);
        return ((k, v) => t.Put(k, v), k => t.Delete(k), model);
    }

    public void Apply(ModelPropertyTests.Op op)
    {
        switch (op)
        {
            case ModelPropertyTests.Put p:
            {
                var (put, _, model) = WriteTree(p.Tree);
                byte[] key = Key(p.Key), value = ModelPropertyTests.ValueOf(p.Size, p.Seed);
                put(key, value);
                model[key] = value;
                ExpectInTx(p.Tree, key);
                break;
            }
            case ModelPropertyTests.Delete d:
            {
                var (_, del, model) = WriteTree(d.Tree);
                byte[] key = Key(d.Key);
                Assert.Equal(model.Remove(key), del(key));
                ExpectInTx(d.Tree, key);
                break;
            }
            case ModelPropertyTests.PutMany pm:
            {
                var (put, _, model) = WriteTree(pm.Tree);
                for (int i = 0; i < pm.Count; i++)
                {
                    int k = (pm.FirstKey + i) % ModelPropertyTests.KeySpace;
                    byte[] key = Key(k), value = ModelPropertyTests.ValueOf(pm.Size, k + pm.Size);
                    put(key, value);
                    model[key] = value;
                }
                break;
            }
            case ModelPropertyTests.DeleteMany dm:
            {
                var (_, del, model) = WriteTree(dm.Tree);
                for (int i = 0; i < dm.Count; i++)
                {
                    byte[] key = Key((dm.FirstKey + i) % ModelPropertyTests.KeySpace);
                    Assert.Equal(model.Remove(key), del(key));
                }
                break;
            }
            case ModelPropertyTests.Commit:
                if (_tx is not null)
                {
                    _tx.Commit();
                    _committed = _pending!;
                    _tx = null;
                }
                VerifyCommitted();
                break;
            case ModelPropertyTests.Abort:
                _tx?.Dispose();
                _tx = null;
                VerifyCommitted();
                break;
            case ModelPropertyTests.Reopen:
                _tx?.Dispose(); // an open write transaction is lost, like a crash before commit
                _tx = null;
                _db.Dispose();
                _db = KvDatabase.Open(_dir.File(), _options);
                VerifyCommitted();
                break;
            case ModelPropertyTests.DropTree dt:
            {
                var tx = Tx();
                Assert.Equal(_pending!.Remove(dt.Tree), tx.DeleteTree(TreeNames[dt.Tree]));
                break;
            }
            case ModelPropertyTests.Walk w:
                if (_tx is not null) WalkAndCompare(_tx, _pending!, w);
                else
                {
                    using var rtx = _db.BeginRead();
                    WalkAndCompare(rtx, _committed, w);
                }
                break;
        }
        var report = _db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    private void ExpectInTx(int tree, byte[] key)
    {
        var model = _pending![tree];
        var t = tree == 0 ? null : _tx!.OpenTree(TreeNames[tree]);
        bool found = t is null ? _tx!.TryGet(key, out var v) : t.TryGet(key, out v);
        Assert.Equal(model.ContainsKey(key), found);
        if (found) Assert.True(v.SequenceEqual(model[key]), "value differs inside the write transaction");
    }

    private void WalkAndCompare(KvTransaction tx, Dictionary<int, SortedDictionary<byte[], byte[]>> models, ModelPropertyTests.Walk w)
    {
        bool exists = models.TryGetValue(w.Tree, out var model);
        KvCursor cursor;
        if (w.Tree == 0) cursor = tx.OpenCursor();
        else
        {
            Assert.Equal(exists, tx.TryOpenTree(TreeNames[w.Tree], out var t));
            if (!exists) return;
            cursor = t!.OpenCursor();
        }
        using var _ = cursor;
        var keys = model!.Keys.ToList();
        int pos;
        bool ok;
        if (w.SeekKey < 0)
        {
            ok = w.Forward ? cursor.First() : cursor.Last();
            pos = w.Forward ? 0 : keys.Count - 1;
        }
        else
        {
            byte[] seek = Key(w.SeekKey);
            ok = cursor.Seek(seek);
            pos = keys.FindIndex(k => ByteComparer.Instance.Compare(k, seek) >= 0);
            if (pos < 0) pos = keys.Count;
        }
        for (int step = 0; ; step++)
        {
            bool expected = pos >= 0 && pos < keys.Count;
            Assert.Equal(expected, ok);
            if (!ok) break;
            Assert.True(cursor.Key.SequenceEqual(keys[pos]), $"cursor key differs at step {step}");
            Assert.True(cursor.Value.SequenceEqual(model[keys[pos]]), $"cursor value differs at step {step}");
            if (step == w.Steps) break;
            ok = w.Forward ? cursor.Next() : cursor.Prev();
            pos += w.Forward ? 1 : -1;
        }
    }

    private void VerifyCommitted()
    {
        using var tx = _db.BeginRead();
        var names = _committed.Keys.Where(t => t != 0).Select(t => TreeNames[t]).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(names, tx.GetTreeNames());
        foreach (var (tree, model) in _committed)
        {
            using var c = tree == 0 ? tx.OpenCursor() : tx.OpenTree(TreeNames[tree]).OpenCursor();
            using var e = model.GetEnumerator();
            for (bool ok = c.First(); ok; ok = c.Next())
            {
                Assert.True(e.MoveNext(), "database has more entries than the model");
                Assert.True(c.Key.SequenceEqual(e.Current.Key), "key differs");
                Assert.True(c.Value.SequenceEqual(e.Current.Value), "value differs");
            }
            Assert.False(e.MoveNext(), "database has fewer entries than the model");
            var backwards = model.Keys.Reverse().GetEnumerator();
            for (bool ok = c.Last(); ok; ok = c.Prev())
            {
                Assert.True(backwards.MoveNext());
                Assert.True(c.Key.SequenceEqual(backwards.Current), "reverse key differs");
            }
            Assert.False(backwards.MoveNext());
            long count = tree == 0 ? _db.GetStats().Main.Entries : tx.OpenTree(TreeNames[tree]).Count;
            Assert.Equal(model.Count, count);
        }
    }

    public void Dispose()
    {
        _tx?.Dispose();
        _db.Dispose();
        _dir.Dispose();
    }
}
