using MmapKv.Simulation;
using Xunit;
using static MmapKv.Tests.ModelPropertyTests;

namespace MmapKv.Tests;

/// <summary>Drives a database and a model side by side, checking them against each other after every step.</summary>
/// <remarks>Trees: 0 the default tree, 1 "alpha" (bytewise), 2 "beta" (reverse), 3 "int64" and 4 "uint64" (integer
/// orders, docs/design.md §16), 5 "multi" (a multimap tree). An open write transaction keeps a stack of savepoints,
/// each with the model state it saw (docs/design.md §17).</remarks>
internal sealed class ModelHarness : IDisposable
{
    private static readonly string[] TreeNames = ModelState.TreeNames;
    private const string MultiName = ModelState.MultiName;

    private readonly TempDir _dir = new();
    private readonly KvOptions _options;
    private KvDatabase _db;
    private WriteTransaction? _tx;
    private ModelState _committed = ModelState.Empty();
    private ModelState? _pending;
    private readonly List<(Savepoint Point, ModelState State)> _savepoints = new(); // of _tx, oldest first

    public ModelHarness(int pageSize)
    {
        _options = new KvOptions { PageSize = pageSize, MaxSize = 1L << 30 };
        _db = KvDatabase.Open(_dir.File(), _options);
    }

    private byte[] Key(int tree, int k) => KeyOf(tree, k, _db.MaxKeySize);

    private WriteTransaction Tx()
    {
        if (_tx is null)
        {
            _tx = _db.BeginWrite();
            _pending = _committed.Copy();
        }
        return _tx.Value;
    }

    private void EndTx(bool commit)
    {
        if (_tx is null) return;
        if (commit)
        {
            _tx.Value.Commit();
            _committed = _pending!;
        }
        else _tx.Value.Dispose();
        _tx = null;
        _pending = null;
        _savepoints.Clear();
    }

    /// <summary>Write access to a plain tree; named trees are created on first use, in both the database and the model.</summary>
    private (Action<byte[], byte[]> put, Func<byte[], bool> del, SortedDictionary<byte[], byte[]> model) WriteTree(int tree)
    {
        var tx = Tx();
        var model = _pending!.Tree(tree);
        if (tree == 0) return ((k, v) => tx.Put(k, v), k => tx.Delete(k), model);
        var t = tx.OpenTree(TreeNames[tree], ModelState.OrderOf(tree));
        return ((k, v) => t.Put(k, v), k => t.Delete(k), model);
    }

    /// <summary>Puts through Reserve: the span must be exactly the value's length, and is filled in place.</summary>
    private void ReservePut(int tree, byte[] key, byte[] value)
    {
        var tx = Tx();
        var span = tree == 0 ? tx.Reserve(key, value.Length) : tx.OpenTree(TreeNames[tree]).Reserve(key, value.Length);
        Assert.Equal(value.Length, span.Length);
        value.CopyTo(span);
    }

    public void Apply(Op op)
    {
        switch (op)
        {
            case Put p:
            {
                var (put, _, model) = WriteTree(p.Tree);
                byte[] key = Key(p.Tree, p.Key), value = ValueOf(p.Size, p.Seed);
                put(key, value);
                model[key] = value;
                ExpectInTx(p.Tree, key);
                break;
            }
            case Reserve r:
            {
                var (_, _, model) = WriteTree(r.Tree);
                byte[] key = Key(r.Tree, r.Key), value = ValueOf(r.Size, r.Seed);
                ReservePut(r.Tree, key, value);
                model[key] = value;
                ExpectInTx(r.Tree, key);
                break;
            }
            case Delete d:
            {
                var (_, del, model) = WriteTree(d.Tree);
                byte[] key = Key(d.Tree, d.Key);
                Assert.Equal(model.Remove(key), del(key));
                ExpectInTx(d.Tree, key);
                break;
            }
            case PutMany pm:
            {
                var (put, _, model) = WriteTree(pm.Tree);
                for (int i = 0; i < pm.Count; i++)
                {
                    int k = (pm.FirstKey + i) % KeySpace;
                    byte[] key = Key(pm.Tree, k), value = ValueOf(pm.Size, k + pm.Size);
                    put(key, value);
                    model[key] = value;
                }
                break;
            }
            case DeleteMany dm:
            {
                var (_, del, model) = WriteTree(dm.Tree);
                for (int i = 0; i < dm.Count; i++)
                {
                    byte[] key = Key(dm.Tree, (dm.FirstKey + i) % KeySpace);
                    Assert.Equal(model.Remove(key), del(key));
                }
                break;
            }
            case Commit:
                EndTx(commit: true);
                VerifyCommitted();
                break;
            case Abort:
                EndTx(commit: false);
                VerifyCommitted();
                break;
            case Reopen:
                EndTx(commit: false); // an open write transaction is lost, like a crash before commit
                _db.Dispose();
                _db = KvDatabase.Open(_dir.File(), _options);
                VerifyCommitted();
                break;
            case DropTree dt:
            {
                var tx = Tx();
                bool existed = dt.Tree == MultiTree ? _pending!.Multi is not null : _pending!.Plain.Remove(dt.Tree);
                if (dt.Tree == MultiTree) _pending.Multi = null;
                Assert.Equal(existed, tx.DeleteTree(dt.Tree == MultiTree ? MultiName : TreeNames[dt.Tree]));
                break;
            }
            case Walk w:
                WithView((view, model) => WalkAndCompare(view, model, w));
                break;
            case RangeScan rs:
                WithView((view, model) => ScanAndCompare(view, model, rs));
                break;
            case MultiAdd ma:
            {
                var mt = Tx().OpenMultiTree(MultiName);
                var model = _pending!.MultiTree();
                byte[] key = CrashRunner.MultiKey(ma.Key);
                var set = model.GetValueOrDefault(key) ?? new SortedSet<byte[]>(ByteComparer.Instance);
                for (int i = 0; i < ma.Count; i++)
                {
                    byte[] value = CrashRunner.MultiValue((ma.FirstValue + i) % MultiValueSpace);
                    Assert.Equal(set.Add(value), mt.Add(key, value));
                }
                model[key] = set;
                Assert.Equal(set.Count, mt.Count(key));
                Assert.True(mt.Contains(key, CrashRunner.MultiValue(ma.FirstValue % MultiValueSpace)), "an added value is missing");
                break;
            }
            case MultiRemove mr:
            {
                var mt = Tx().OpenMultiTree(MultiName);
                var model = _pending!.MultiTree();
                byte[] key = CrashRunner.MultiKey(mr.Key), value = CrashRunner.MultiValue(mr.Value % MultiValueSpace);
                bool expected = model.TryGetValue(key, out var set) && set.Remove(value);
                if (set is { Count: 0 }) model.Remove(key);
                Assert.Equal(expected, mt.Remove(key, value));
                Assert.False(mt.Contains(key, value), "a removed value is still there");
                Assert.Equal(set?.Count ?? 0, mt.Count(key));
                break;
            }
            case MultiRemoveAll mra:
            {
                var mt = Tx().OpenMultiTree(MultiName);
                byte[] key = CrashRunner.MultiKey(mra.Key);
                long expected = _pending!.MultiTree().Remove(key, out var set) ? set.Count : 0;
                Assert.Equal(expected, mt.RemoveAll(key));
                Assert.Equal(0, mt.Count(key));
                break;
            }
            case MultiProbe mp:
                WithView((view, model) => ProbeMulti(view.Multi(MultiName), model.Multi, CrashRunner.MultiKey(mp.Key),
                    CrashRunner.MultiValue(mp.Value % MultiValueSpace)));
                break;
            case CreateSavepoint:
            {
                var sp = Tx().CreateSavepoint();
                Assert.Equal(_savepoints.Count, sp.Depth);
                _savepoints.Add((sp, _pending!.Copy()));
                break;
            }
            case RollbackTo rb when _tx is not null && _savepoints.Count > 0:
            {
                int at = _savepoints.Count - 1 - rb.Back % _savepoints.Count;
                var dropped = _savepoints.Skip(at + 1).Select(s => s.Point).ToList();
                _tx.Value.RollbackTo(_savepoints[at].Point);
                _savepoints.RemoveRange(at + 1, _savepoints.Count - at - 1);
                _pending = _savepoints[at].State.Copy();
                VerifyView(WriteView(_tx.Value), _pending, mainCount: null);
                foreach (var d in dropped)
                    Assert.Throws<InvalidOperationException>(() => _tx.Value.RollbackTo(d)); // dropped by the rollback to an outer one
                break;
            }
        }
        var report = _db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    private void ExpectInTx(int tree, byte[] key)
    {
        var model = _pending!.Plain[tree];
        var t = tree == 0 ? null : _tx!.Value.OpenTree(TreeNames[tree]);
        bool found = t is null ? _tx!.Value.TryGet(key, out var v) : t.TryGet(key, out v);
        Assert.Equal(model.ContainsKey(key), found);
        if (found) Assert.True(v.SequenceEqual(model[key]), "value differs inside the write transaction");
    }

    private delegate KvScan MainScan(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to);

    /// <summary>What a read or write transaction offers the checks (a <see cref="ReadTransaction"/> is a handle, not
    /// a <see cref="KvTransaction"/>).</summary>
    private sealed record View(Func<KvCursor> MainCursor, MainScan MainRange, Func<string, KvTree?> Tree,
        Func<string, KvMultiTree?> Multi, Func<IReadOnlyList<string>> Names);

    private static View WriteView(WriteTransaction tx) => new(tx.OpenCursor, tx.Scan,
        n => tx.TryOpenTree(n, out var t) ? t : null, n => tx.TryOpenMultiTree(n, out var m) ? m : null, tx.GetTreeNames);

    private static View ReadView(ReadTransaction tx) => new(tx.OpenCursor, tx.Scan,
        n => tx.TryOpenTree(n, out var t) ? t : null, n => tx.TryOpenMultiTree(n, out var m) ? m : null, tx.GetTreeNames);

    /// <summary>Runs <paramref name="check"/> in the open write transaction against its pending model, or else in a
    /// read transaction against the committed model.</summary>
    private void WithView(Action<View, ModelState> check)
    {
        if (_tx is not null) check(WriteView(_tx.Value), _pending!);
        else
        {
            using var rtx = _db.BeginRead();
            check(ReadView(rtx), _committed);
        }
    }

    private void WalkAndCompare(View view, ModelState models, Walk w)
    {
        bool exists = models.Plain.TryGetValue(w.Tree, out var model);
        KvCursor cursor;
        if (w.Tree == 0) cursor = view.MainCursor();
        else
        {
            var t = view.Tree(TreeNames[w.Tree]);
            Assert.Equal(exists, t is not null);
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
            byte[] seek = Key(w.Tree, w.SeekKey);
            ok = cursor.Seek(seek);
            pos = keys.FindIndex(k => model.Comparer.Compare(k, seek) >= 0);
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

    /// <summary>Scan(from, to) is [from, to) in the tree's own order, in both directions (docs/design.md §16).</summary>
    private void ScanAndCompare(View view, ModelState models, RangeScan rs)
    {
        bool exists = models.Plain.TryGetValue(rs.Tree, out var model);
        KvTree? t = rs.Tree == 0 ? null : view.Tree(TreeNames[rs.Tree]);
        if (rs.Tree != 0) Assert.Equal(exists, t is not null);
        if (!exists) return;
        byte[] from = rs.From < 0 ? [] : Key(rs.Tree, rs.From), to = rs.To < 0 ? [] : Key(rs.Tree, rs.To);
        var order = model!.Comparer;
        var expected = model.Where(e => (from.Length == 0 || order.Compare(e.Key, from) >= 0) && (to.Length == 0 || order.Compare(e.Key, to) < 0)).ToList();
        if (rs.Reverse) expected.Reverse();
        var scan = t is null ? view.MainRange(from, to) : t.Scan(from, to);
        if (rs.Reverse) scan = scan.Reverse();
        int i = 0;
        foreach (var e in scan)
        {
            Assert.True(i < expected.Count, $"the scan holds more than the model's {expected.Count} entries");
            Assert.True(e.Key.SequenceEqual(expected[i].Key), $"scan key differs at {i}");
            Assert.True(e.Value.SequenceEqual(expected[i].Value), $"scan value differs at {i}");
            i++;
        }
        Assert.Equal(expected.Count, i);
    }

    private static void ProbeMulti(KvMultiTree? tree, SortedDictionary<byte[], SortedSet<byte[]>>? model, byte[] key, byte[] value)
    {
        Assert.Equal(model is not null, tree is not null);
        if (tree is null) return;
        var set = model!.GetValueOrDefault(key);
        Assert.Equal(set?.Count ?? 0, tree.Count(key));
        Assert.Equal(set?.Contains(value) ?? false, tree.Contains(key, value));
        AssertValues(set ?? [], tree, key, reverse: false);
        AssertValues(set ?? [], tree, key, reverse: true);
    }

    private static void AssertValues(IEnumerable<byte[]> set, KvMultiTree tree, byte[] key, bool reverse)
    {
        var expected = reverse ? set.Reverse().ToList() : set.ToList();
        var values = reverse ? tree.Values(key).Reverse() : tree.Values(key);
        int i = 0;
        foreach (var v in values)
        {
            Assert.True(i < expected.Count, $"key holds more values than the model's {expected.Count}");
            Assert.True(v.SequenceEqual(expected[i]), $"value {i} of a key differs (reverse: {reverse})");
            i++;
        }
        Assert.Equal(expected.Count, i);
    }

    private static void VerifyMulti(KvMultiTree tree, SortedDictionary<byte[], SortedSet<byte[]>> model)
    {
        var pairs = model.SelectMany(p => p.Value.Select(v => (p.Key, Value: v))).ToList();
        Assert.Equal(model.Count, tree.KeyCount);
        Assert.Equal(pairs.Count, tree.ValueCount);
        for (int pass = 0; pass < 2; pass++)
        {
            bool reverse = pass == 1;
            if (reverse) pairs.Reverse();
            var scan = reverse ? tree.Scan().Reverse() : tree.Scan();
            int i = 0;
            foreach (var e in scan)
            {
                Assert.True(i < pairs.Count, "the multimap scan holds more pairs than the model");
                Assert.True(e.Key.SequenceEqual(pairs[i].Key) && e.Value.SequenceEqual(pairs[i].Value), $"multimap pair {i} differs (reverse: {reverse})");
                i++;
            }
            Assert.Equal(pairs.Count, i);
        }
        foreach (var (key, set) in model)
        {
            Assert.Equal(set.Count, tree.Count(key));
            AssertValues(set, tree, key, reverse: false);
        }
        if (model.Count > 0)
        {
            var (largest, values) = model.MaxBy(p => p.Value.Count);
            AssertValues(values, tree, largest, reverse: true);
        }
    }

    /// <summary>Every tree the view sees equals the model: names, entries forward and backward, counts.</summary>
    private static void VerifyView(View view, ModelState model, long? mainCount)
    {
        Assert.Equal(model.Names(), view.Names());
        foreach (var (tree, entries) in model.Plain)
        {
            var t = tree == 0 ? null : view.Tree(TreeNames[tree]);
            if (tree != 0)
            {
                Assert.NotNull(t);
                Assert.Equal(ModelState.OrderOf(tree), t.KeyOrder);
            }
            using var c = t is null ? view.MainCursor() : t.OpenCursor();
            using var e = entries.GetEnumerator();
            for (bool ok = c.First(); ok; ok = c.Next())
            {
                Assert.True(e.MoveNext(), "database has more entries than the model");
                Assert.True(c.Key.SequenceEqual(e.Current.Key), "key differs");
                Assert.True(c.Value.SequenceEqual(e.Current.Value), "value differs");
            }
            Assert.False(e.MoveNext(), "database has fewer entries than the model");
            using var backwards = entries.Keys.Reverse().GetEnumerator();
            for (bool ok = c.Last(); ok; ok = c.Prev())
            {
                Assert.True(backwards.MoveNext());
                Assert.True(c.Key.SequenceEqual(backwards.Current), "reverse key differs");
            }
            Assert.False(backwards.MoveNext());
            long? count = t is null ? mainCount : t.Count;
            if (count is { } n) Assert.Equal(entries.Count, n);
        }
        var multi = view.Multi(MultiName);
        Assert.Equal(model.Multi is not null, multi is not null);
        if (multi is not null) VerifyMulti(multi, model.Multi!);
    }

    private void VerifyCommitted()
    {
        using var tx = _db.BeginRead();
        VerifyView(ReadView(tx), _committed, _db.GetStats().Main.Entries);
    }

    public void Dispose()
    {
        _tx?.Dispose();
        _db.Dispose();
        _dir.Dispose();
    }
}
