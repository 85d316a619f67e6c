using System.Diagnostics;
using System.Globalization;
using MmapKv.Benchmarks.Engines;

namespace MmapKv.Benchmarks.Workloads;

/// <summary>
/// What both processes of the two-process workload agree on: the dataset (entries <c>[0, N)</c> loaded before the
/// run, then the writer's keys, one range per direction) and the timing: a warm-up window, then
/// <see cref="Seconds"/> of timed windows of at most <see cref="WindowLimit"/> seconds each, which the engines'
/// pairs of processes take in turns.
/// </summary>
/// <param name="N">Keys loaded before the run; the reader looks up only these.</param>
/// <param name="Capacity">Keys the writer may commit in one direction (it stops early if it runs out).</param>
/// <param name="Seconds">Timed seconds per engine and direction.</param>
/// <param name="WarmupSeconds">The untimed first window, so neither process is timed while the JIT compiles.</param>
/// <param name="MapSize">MmapKv MaxSize and LMDB map size, the same in both processes.</param>
internal sealed record TwoProcessPlan(long N, long Capacity, double Seconds, double WarmupSeconds, long MapSize)
{
    /// <summary>The longest timed window: short enough that drift in the disk's flush latency hits every engine alike.</summary>
    public const double WindowLimit = 1.0;

    /// <summary>Entries in the dataset: the loaded keys and one writer range for each of the two directions.</summary>
    public long Count => N + 2 * Capacity;

    public int Rounds => (int)Math.Ceiling(Seconds / WindowLimit - 1e-9);

    /// <summary>The length of timed window <paramref name="round"/> (the last one may be shorter).</summary>
    public double WindowSeconds(int round) => Math.Min(WindowLimit, Seconds - round * WindowLimit);

    public EngineSettings Settings => new(Durable: true, MapSize: MapSize, CacheBytes: 8L << 20);
}

/// <summary>One window of a loop: operations done and the wall time they took.</summary>
internal readonly record struct WindowResult(long Count, double Ms)
{
    public string ToLine() => string.Create(CultureInfo.InvariantCulture, $"window count={Count} ms={Ms:R}");

    public static WindowResult Parse(string line)
    {
        var f = ReaderResult.Fields(line, "window");
        return new(long.Parse(f["count"], CultureInfo.InvariantCulture), double.Parse(f["ms"], CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// The reader's tally over every window. <see cref="Checksum"/> sums what the <see cref="Lookups"/> returned, so
/// the parent can replay the same key sequence and compare; <see cref="Seen"/> is how many of the writer's commits
/// the reader's last progress probe found.
/// </summary>
internal sealed record ReaderResult(long Lookups, long Found, ulong Checksum, long Seen)
{
    public string ToLine() => string.Create(CultureInfo.InvariantCulture,
        $"reader lookups={Lookups} found={Found} checksum={Checksum} seen={Seen}");

    public static ReaderResult Parse(string line)
    {
        var f = Fields(line, "reader");
        return new(long.Parse(f["lookups"], CultureInfo.InvariantCulture), long.Parse(f["found"], CultureInfo.InvariantCulture),
            ulong.Parse(f["checksum"], CultureInfo.InvariantCulture), long.Parse(f["seen"], CultureInfo.InvariantCulture));
    }

    internal static Dictionary<string, string> Fields(string line, string kind)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != kind) throw new FormatException($"expected a '{kind}' line, got '{line}'");
        return parts.Skip(1).Select(p => p.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
    }
}

/// <summary>The writer's tally over every window: its keys are <c>[first, first + Commits)</c>.</summary>
internal sealed record WriterResult(long Commits, bool Capped)
{
    public string ToLine() => string.Create(CultureInfo.InvariantCulture, $"writer commits={Commits} capped={(Capped ? 1 : 0)}");

    public static WriterResult Parse(string line)
    {
        var f = ReaderResult.Fields(line, "writer");
        return new(long.Parse(f["commits"], CultureInfo.InvariantCulture), f["capped"] == "1");
    }
}

/// <summary>A loop that runs in windows and picks up where the last one stopped.</summary>
internal interface IWindowLoop
{
    WindowResult Window(double seconds);
}

/// <summary>
/// Read transactions of one random lookup each, of keys in <c>[0, N)</c> drawn from the seed. Every
/// <see cref="ProbeEvery"/> batches a read transaction (not counted) follows the writer: the keys it commits from
/// <c>writerFirst</c> on, one per commit in order, must appear in that order with their values, and none may
/// disappear.
/// </summary>
internal sealed class ReaderLoop(IEngine engine, Dataset data, TwoProcessPlan plan, long writerFirst, ulong seed) : IWindowLoop
{
    /// <summary>Lookups between clock checks.</summary>
    private const int Batch = 256;

    /// <summary>Batches between progress probes of the writer's keys (about every 8,000 lookups).</summary>
    private const int ProbeEvery = 32;

    private Dataset.Rng _rng = new(seed);
    private long _lookups, _found, _seen, _batches;
    private ulong _sum;

    public WindowResult Window(double seconds)
    {
        ulong n = (ulong)plan.N;
        long before = _lookups, t0 = Stopwatch.GetTimestamp();
        double endMs = seconds * 1000;
        while (true)
        {
            for (int k = 0; k < Batch; k++)
            {
                long i = (long)(_rng.Next() % n);
                using var r = engine.BeginRead();
                if (r.TryGet(data.Key(i), out var v))
                {
                    _found++;
                    _sum += Checksum.Of(v);
                }
            }
            _lookups += Batch;
            if (++_batches % ProbeEvery == 0) _seen = TwoProcessLoops.Probe(engine, data, plan, writerFirst, _seen);
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (ms >= endMs) return new WindowResult(_lookups - before, ms);
        }
    }

    public ReaderResult Result()
    {
        _seen = TwoProcessLoops.Probe(engine, data, plan, writerFirst, _seen);
        return new ReaderResult(_lookups, _found, _sum, _seen);
    }
}

/// <summary>One-put transactions of new keys from <c>first</c> on, each committed durably.</summary>
internal sealed class WriterLoop(IEngine engine, Dataset data, TwoProcessPlan plan, long first) : IWindowLoop
{
    private long _commits;
    private bool _capped;

    public WindowResult Window(double seconds)
    {
        long before = _commits, t0 = Stopwatch.GetTimestamp();
        double endMs = seconds * 1000;
        while (true)
        {
            if (_commits == plan.Capacity) { _capped = true; return new WindowResult(_commits - before, Stopwatch.GetElapsedTime(t0).TotalMilliseconds); }
            using (var w = engine.BeginWrite())
            {
                w.Put(data.Key(first + _commits), data.Value(first + _commits));
                w.Commit();
            }
            _commits++;
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (ms >= endMs) return new WindowResult(_commits - before, ms);
        }
    }

    public WriterResult Result() => new(_commits, _capped);
}

/// <summary>The checks of what the loops did, in whichever process each ran.</summary>
internal static class TwoProcessLoops
{
    /// <summary>How many of the writer's keys one snapshot holds, given that an earlier one held <paramref name="seen"/>.</summary>
    public static long Probe(IEngine engine, Dataset data, TwoProcessPlan plan, long first, long seen)
    {
        using var r = engine.BeginRead();
        if (seen > 0) Present(r, engine, data, first + seen - 1, "a key the reader had seen committed is gone");
        while (seen < plan.Capacity && r.TryGet(data.Key(first + seen), out var v))
        {
            if (!v.SequenceEqual(data.Value(first + seen)))
                throw new VerificationException($"{engine.Name}: the writer's key #{first + seen} has a wrong value in the reader's snapshot");
            seen++;
        }
        return seen;
    }

    /// <summary>
    /// The reader's tally is exactly what its key sequence gives: every lookup found its key (all were loaded
    /// before the run and none is changed), and the values' checksum is the one the dataset gives.
    /// </summary>
    public static void VerifyReader(ReaderResult r, Dataset data, TwoProcessPlan plan, ulong seed, string engine, long writerCommits)
    {
        if (r.Found != r.Lookups)
            throw new VerificationException($"{engine}: the reader found {r.Found:N0} of {r.Lookups:N0} keys that were all loaded before the run");
        var rng = new Dataset.Rng(seed);
        ulong expected = 0;
        for (long k = 0; k < r.Lookups; k++) expected += data.ValueChecksum((long)(rng.Next() % (ulong)plan.N));
        if (expected != r.Checksum)
            throw new VerificationException($"{engine}: the checksum of the values the reader got is {r.Checksum}, the data's is {expected} ({r.Lookups:N0} lookups)");
        if (r.Seen > writerCommits)
            throw new VerificationException($"{engine}: the reader saw {r.Seen:N0} of the writer's keys, but it committed {writerCommits:N0}");
    }

    /// <summary>
    /// One snapshot holds exactly the writer's <paramref name="commits"/> keys from <paramref name="first"/> on,
    /// each with its value, and not the next one.
    /// </summary>
    public static void CheckWrites(IEngine engine, Dataset data, long first, long commits, long capacity, string who)
    {
        using var r = engine.BeginRead();
        for (long k = 0; k < commits; k++) Present(r, engine, data, first + k, $"{who}: a committed key is missing");
        if (commits < capacity && r.TryGet(data.Key(first + commits), out _))
            throw new VerificationException($"{engine.Name}: {who}: key #{first + commits} is there, but the writer committed only {commits:N0} keys from #{first}");
    }

    private static void Present(IReadTxn r, IEngine engine, Dataset data, long i, string what)
    {
        if (!r.TryGet(data.Key(i), out var v)) throw new VerificationException($"{engine.Name}: {what} (key #{i})");
        if (!v.SequenceEqual(data.Value(i))) throw new VerificationException($"{engine.Name}: {what}: key #{i} has a wrong value");
    }
}
