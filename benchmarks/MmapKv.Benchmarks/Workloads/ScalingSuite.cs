using MmapKv.Benchmarks.Engines;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>
/// Workload 12: how random reads and individual durable writes grow with the database. For each size a fresh
/// database is bulk loaded (timed too), then takes a fixed number of random gets (so times compare across sizes)
/// and 1,000 one-insert durable transactions of keys that exist at no size.
/// </summary>
internal sealed class ScalingSuite : SuiteBase
{
    public const long GetsPerSize = 1_000_000;
    public const int WriteTxns = 1_000;

    private readonly long[] _sizes;
    private readonly long _writeStart;

    public static long DatasetSize(long[] sizes) => sizes.Max() + WriteTxns;

    public ScalingSuite(RunConfig config, Dataset data, Results results, IProgressSink progress)
        : base(config, data, results, progress)
    {
        _sizes = config.ScalingSizes;
        _writeStart = _sizes.Max();
    }

    public override IReadOnlyList<Row> PlannedRows =>
        _sizes.SelectMany(n => new[] { Rows.ScalingLoad(n), Rows.ScalingSize(n), Rows.ScalingReads(n, Gets(n)), Rows.ScalingWrites(n) }).ToArray();

    private static long Gets(long n) => Math.Min(n, GetsPerSize);

    public override void Run(IEngine engine, int rep)
    {
        foreach (long n in _sizes)
        {
            string dir = FreshDirectory(engine, $"scale-{n}");
            engine.Open(dir);
            try
            {
                var load = Rows.ScalingLoad(n);
                Progress.Start(engine, load, rep);
                Record(engine, load, rep, Timed(() =>
                {
                    using var w = engine.BeginWrite();
                    for (long i = 0; i < n; i++) w.Put(Data.Key(i), Data.Value(i));
                    w.Commit();
                }));

                var size = Rows.ScalingSize(n);
                Progress.Start(engine, size, rep);
                Record(engine, size, rep, SizeAtRest(engine, dir));

                // Random keys of this size's load set, with replacement, from a fixed seed.
                long gets = Gets(n);
                var picks = new long[gets];
                var rng = new Dataset.Rng(Dataset.Seed ^ (ulong)n);
                ulong expected = 0;
                for (long g = 0; g < gets; g++)
                {
                    picks[g] = (long)(rng.Next() % (ulong)n);
                    expected += Data.ValueChecksum(picks[g]);
                }
                var reads = Rows.ScalingReads(n, gets);
                Progress.Start(engine, reads, rep);
                Record(engine, reads, rep, Timed(() =>
                {
                    ulong sum = 0;
                    using var r = engine.BeginRead();
                    foreach (long i in picks)
                    {
                        if (!r.TryGet(Data.Key(i), out var v)) throw new VerificationException($"{engine.Name}: scaling reads: key #{i} is missing");
                        sum += Checksum.Of(v);
                    }
                    Expect(sum == expected, engine, $"scaling reads at {n}: checksum differs");
                }));

                var writes = Rows.ScalingWrites(n);
                Progress.Start(engine, writes, rep);
                Record(engine, writes, rep, Timed(() =>
                {
                    for (int j = 0; j < WriteTxns; j++)
                    {
                        using var w = engine.BeginWrite();
                        w.Put(Data.Key(_writeStart + j), Data.Value(_writeStart + j));
                        w.Commit();
                    }
                }));
                VerifyPresent(engine, Range((int)_writeStart, WriteTxns), $"scaling writes at {n}");
            }
            finally
            {
                engine.Close();
                Discard(dir);
            }
        }
    }
}
