using FsCheck;
using FsCheck.Fluent;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Model-based property test: random operation sequences run against MmapKv and against a model of SortedDictionary
/// trees (the default tree, bytewise, reverse, Int64 and UInt64 named trees, and a multimap tree of sorted value sets);
/// after every step the database must equal the model and pass Check(). Write transactions take nested savepoints
/// and roll back to them. Seeds are printed and replayable (MMAPKV_PROP_SEED); failing sequences shrink.
/// </summary>
/// <remarks>One more operation kind (a persistent savepoint, say): a record here, a line in <see cref="OpGen"/>,
/// and a case in <see cref="ModelHarness.Apply"/>.</remarks>
public class ModelPropertyTests
{
    public abstract record Op;
    public sealed record Put(int Tree, int Key, int Size, int Seed) : Op;
    public sealed record Reserve(int Tree, int Key, int Size, int Seed) : Op; // a put through Reserve: fill the span, then check
    public sealed record Delete(int Tree, int Key) : Op;
    public sealed record PutMany(int Tree, int FirstKey, int Count, int Size) : Op;
    public sealed record DeleteMany(int Tree, int FirstKey, int Count) : Op;
    public sealed record Commit : Op;
    public sealed record Abort : Op;
    public sealed record Walk(int Tree, int SeekKey, bool Forward, int Steps) : Op;
    public sealed record Reopen : Op;
    /// <summary>Tree 1–4 drops a plain named tree, 5 the multimap tree.</summary>
    public sealed record DropTree(int Tree) : Op;
    /// <summary>Scan(from, to) of a plain tree, forward or reversed; a bound of -1 is open.</summary>
    public sealed record RangeScan(int Tree, int From, int To, bool Reverse) : Op;
    /// <summary>Adds values <paramref name="FirstValue"/> .. + <paramref name="Count"/> - 1 to one multimap key.</summary>
    public sealed record MultiAdd(int Key, int FirstValue, int Count) : Op;
    public sealed record MultiRemove(int Key, int Value) : Op;
    public sealed record MultiRemoveAll(int Key) : Op;
    /// <summary>Count, Contains and the values of one multimap key, both directions.</summary>
    public sealed record MultiProbe(int Key, int Value) : Op;
    public sealed record CreateSavepoint : Op;
    /// <summary>Rolls back to the newest savepoint when <paramref name="Back"/> is 0, older ones as it grows
    /// (modulo how many there are).</summary>
    public sealed record RollbackTo(int Back) : Op;

    public sealed record Case(int PageSize, Op[] Ops)
    {
        public override string ToString() => $"PageSize={PageSize}, Ops=[{string.Join(", ", Ops.Select(o => o.ToString()))}]";
    }

    internal const int KeySpace = 600;
    internal const int MultiKeySpace = 30;
    internal const int MultiValueSpace = 2000;
    internal const int MultiTree = 5;

    /// <summary>Keys of many shapes: short, prefixed, binary, and a few near the size limit.</summary>
    internal static byte[] KeyOf(int k, int maxKeySize)
    {
        if (k % 97 == 0) return Enumerable.Repeat((byte)(k % 251), maxKeySize - k % 7).ToArray();
        if (k % 31 == 0) return new[] { (byte)(k % 256), (byte)0 }; // 2 bytes, with a zero byte
        if (k % 13 == 0) return Bytes.Of($"k{k:D4}").Concat(Enumerable.Repeat((byte)0xFF, 150 + k % 200)).ToArray();
        return Bytes.Of($"key{k:D4}");
    }

    /// <summary>Key <paramref name="k"/> of plain tree <paramref name="tree"/>: 8-byte little-endian integers for the
    /// integer-ordered trees (3: Int64, 4: UInt64), <see cref="KeyOf(int, int)"/> for the others.</summary>
    internal static byte[] KeyOf(int tree, int k, int maxKeySize) => tree >= 3 ? CrashRunner.KeyFor(tree, k) : KeyOf(k, maxKeySize);

    internal static byte[] ValueOf(int size, int seed)
    {
        var v = new byte[size];
        new Random(seed).NextBytes(v);
        return v;
    }

    // Plain trees: the default tree, "alpha", "beta" (reverse), "int64" and "uint64" (integer orders).
    private static readonly Gen<int> TreeGen = Gen.Frequency(
        (3, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)), (1, Gen.Constant(4)));
    private static readonly Gen<int> SizeGen = Gen.Frequency(
        (6, Gen.Choose(0, 40)), (2, Gen.Choose(300, 1100)), (1, Gen.Choose(1100, 20000)));
    private static readonly Gen<int> KeyGen = Gen.Choose(0, KeySpace - 1);
    private static readonly Gen<int> BoundGen = Gen.Frequency((1, Gen.Constant(-1)), (5, KeyGen));
    private static readonly Gen<int> MultiKeyGen = Gen.Choose(0, MultiKeySpace - 1);
    private static readonly Gen<int> MultiValueGen = Gen.Choose(0, MultiValueSpace - 1);

    private static readonly Gen<Op> OpGen = Gen.Frequency(
        (30, from t in TreeGen from k in KeyGen from s in SizeGen from seed in Gen.Choose(0, 1 << 20) select (Op)new Put(t, k, s, seed)),
        (10, from t in TreeGen from k in KeyGen from s in SizeGen from seed in Gen.Choose(0, 1 << 20) select (Op)new Reserve(t, k, s, seed)),
        (12, from t in TreeGen from k in KeyGen select (Op)new Delete(t, k)),
        (4, from t in TreeGen from k in KeyGen from n in Gen.Choose(20, 300) from s in Gen.Choose(0, 200) select (Op)new PutMany(t, k, n, s)),
        (3, from t in TreeGen from k in KeyGen from n in Gen.Choose(20, 300) select (Op)new DeleteMany(t, k, n)),
        (10, Gen.Constant((Op)new Commit())),
        (3, Gen.Constant((Op)new Abort())),
        (6, from t in TreeGen from k in Gen.Choose(-1, KeySpace - 1) from f in Gen.Elements(true, false) from n in Gen.Choose(1, 50) select (Op)new Walk(t, k, f, n)),
        (2, Gen.Constant((Op)new Reopen())),
        (1, from t in Gen.Choose(1, MultiTree) select (Op)new DropTree(t)),
        (4, from t in TreeGen from f in BoundGen from to in BoundGen from r in Gen.Elements(true, false) select (Op)new RangeScan(t, f, to, r)),
        (8, from k in MultiKeyGen from v in MultiValueGen select (Op)new MultiAdd(k, v, 1)),
        (2, from k in MultiKeyGen from v in MultiValueGen from n in Gen.Choose(100, 500) select (Op)new MultiAdd(k, v, n)),
        (4, from k in MultiKeyGen from v in MultiValueGen select (Op)new MultiRemove(k, v)),
        (1, from k in MultiKeyGen select (Op)new MultiRemoveAll(k)),
        (2, from k in MultiKeyGen from v in MultiValueGen select (Op)new MultiProbe(k, v)),
        (3, Gen.Constant((Op)new CreateSavepoint())),
        (3, from b in Gen.Choose(0, 3) select (Op)new RollbackTo(b)));

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

    /// <summary>The new kinds in one fixed sequence, so every run has them whatever the seed: integer trees, a
    /// multimap key with hundreds of values (over several leaves), nested savepoints with a rollback to an outer one
    /// (the inner one dropped) and to the same one twice, then a commit, an abort over a savepoint, and a reopen.</summary>
    [Fact]
    public void FixedSequence_IntegerTreesMultimapAndNestedSavepoints()
    {
        using var h = new ModelHarness(4096);
        Op[] ops =
        {
            new PutMany(3, 0, 300, 8), new PutMany(4, 0, 300, 8), new MultiAdd(2, 0, 450), new MultiAdd(4, 10, 5), new Commit(),
            new CreateSavepoint(), new DeleteMany(3, 50, 200), new MultiRemoveAll(2), new MultiAdd(3, 0, 300),
            new CreateSavepoint(), new DropTree(4), new DropTree(MultiTree), new Put(0, 1, 30, 1),
            new RangeScan(3, 10, 290, false), new RangeScan(4, -1, 100, true),
            new RollbackTo(1), // to the outer savepoint: the inner one is dropped
            new RangeScan(3, 10, 290, true), new MultiProbe(2, 7), new MultiRemove(2, 7), new MultiAdd(2, 2000 - 100, 200),
            new RollbackTo(0), new RollbackTo(0), new Walk(4, 5, false, 40), new Commit(),
            new CreateSavepoint(), new MultiRemoveAll(2), new Abort(),
            new Reopen(), new RangeScan(3, -1, -1, true), new MultiProbe(2, 100),
        };
        for (int i = 0; i < ops.Length; i++)
        {
            try { h.Apply(ops[i]); }
            catch (Exception e) { throw new Exception($"step {i} ({ops[i]}) failed: {e.Message}", e); }
        }
    }
}
