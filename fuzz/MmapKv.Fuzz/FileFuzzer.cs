using System.Diagnostics;
using System.Text;

namespace MmapKv.Fuzz;

/// <summary>
/// File mode: mutated copies of the seed databases run in worker processes (one per job), so a crash or hang on a
/// damaged file is observed instead of taking the fuzzer down. A crashing or hanging case is re-run alone in a fresh
/// worker to confirm it, then saved with its seed.
/// </summary>
internal sealed class FileFuzzer(FuzzOptions o)
{
    private const int RestartEvery = 4000;
    private const int MaxArtifactsPerSignature = 3;
    private readonly Stats _stats = new("file", o.Seed);
    private List<SeedInfo> _seeds = new();
    private List<SeedInfo> _crafted = new();
    private const int ProbesPerCraftedSeed = 4;

    private static bool IsCrafted(SeedInfo s) => s.Name.StartsWith("crafted", StringComparison.Ordinal);

    /// <summary>
    /// Case indices below zero are the probes: -1 - p runs crafted seed p % n, as it is for the first round and
    /// mutated after that. Other indices draw from the valid seeds.
    /// </summary>
    private (byte[] Data, string Log, string SeedName) MakeCase(long index, ulong caseSeed)
    {
        if (index >= 0 || _crafted.Count == 0) return Mutator.Make(_seeds, caseSeed);
        long p = -1 - index;
        return Mutator.Make(new[] { _crafted[(int)(p % _crafted.Count)] }, caseSeed, mutate: p >= 2 * _crafted.Count);
    }

    /// <summary>Probes run every optional step: the first round deletes all trees before the compacting copy, the second copies first.</summary>
    private int Thorough(long index) => index >= 0 ? 0 : (-1 - index) / Math.Max(1, _crafted.Count) % 2 == 0 ? 1 : 2;
    private string _work = "";
    private readonly Dictionary<string, int> _confirmed = new(StringComparer.Ordinal);

    public int Run()
    {
        var files = Corpus.EnsureCorpus(o.Corpus);
        var all = files.Select(f => SeedInfo.Parse(Path.GetFileName(f), File.ReadAllBytes(f)))
            .Where(s => s.Bytes.Length <= 64 << 20).ToList();
        // Crafted hostile seeds (a DAG, a cycle) run as a few fixed probes at the start rather than in the random mix:
        // a file that hangs the engine would otherwise tie the workers up for the whole run.
        _crafted = all.Where(IsCrafted).ToList();
        _seeds = all.Where(s => !IsCrafted(s)).ToList();
        if (_seeds.Count == 0) _seeds = all;
        Log.Line($"file mode: seed {o.Seed}, {_seeds.Count} seed files from {o.Corpus}, jobs {o.Jobs}, time {o.TimeSeconds} s, case timeout {o.CaseTimeoutSeconds} s");
        if (o.Verbose)
            foreach (var s in _seeds)
                Log.Line($"  seed {s.Name}: {s.Bytes.Length} bytes, page {s.PageSize}, {s.PageCount} pages, {s.Nodes.Count} nodes, {s.Runs.Count} runs, {s.Bitmaps.Count} bitmaps");
        string root = o.WorkDir ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
        _work = Path.Combine(root, $"mmapkv-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(_work);
        try
        {
            if (o.Case is { } only) return RunOne(only);
            var deadline = Stopwatch.StartNew();
            using (_stats.PrintPeriodically(o.StatusSeconds))
            {
                var workers = Enumerable.Range(0, o.Jobs).Select(j => new Thread(() => Worker(j, deadline)) { Name = $"file-worker-{j}" }).ToList();
                foreach (var w in workers) w.Start();
                foreach (var w in workers) w.Join();
            }
            Log.Line(_stats.Format(final: true));
            return _stats.Failed ? 1 : 0;
        }
        finally
        {
            try { Directory.Delete(_work, recursive: true); } catch (Exception) { }
        }
    }

    private void Worker(int job, Stopwatch clock)
    {
        var timeout = TimeSpan.FromSeconds(o.CaseTimeoutSeconds);
        ChildProcess? child = null;
        var recent = new Queue<long>();
        try
        {
            long probes = _crafted.Count * ProbesPerCraftedSeed;
            for (long index = job - probes; index < o.MaxCases && clock.Elapsed.TotalSeconds < o.TimeSeconds; index += o.Jobs)
            {
                ulong caseSeed = Seeds.Mix(o.Seed, index);
                long t0 = Stopwatch.GetTimestamp();
                byte[] data;
                string log, seedName;
                string path = Path.Combine(_work, $"w{job}.mkv");
                try
                {
                    (data, log, seedName) = MakeCase(index, caseSeed);
                    File.WriteAllBytes(path, data);
                }
                catch (Exception e)
                {
                    // A bug of the fuzzer, not of MmapKv: report it and go on.
                    if (_stats.Counter("fuzzer errors (case generation)") < 3) Log.Line($"case {index}: generating the case failed: {e}");
                    _stats.Count("fuzzer errors (case generation)");
                    continue;
                }
                if (o.Verbose) _stats.Count("ms generating", (long)Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (child is null || child.CasesRun >= RestartEvery)
                {
                    child?.Dispose();
                    child = ChildProcess.Start(_work);
                }
                var outcome = child.Run(index, caseSeed, path, timeout, Thorough(index));
                if (o.Verbose) _stats.Count("ms in worker", (long)outcome.Elapsed.TotalMilliseconds);
                _stats.Case();
                recent.Enqueue(index);
                if (recent.Count > 20) recent.Dequeue();
                if (outcome.Kind is OutcomeKind.Crash or OutcomeKind.Hang)
                {
                    child.Dispose();
                    child = null;
                    outcome = Confirm(outcome, index, caseSeed, data, path, timeout, recent);
                }
                Record(outcome, index, caseSeed, data, log, seedName);
                CleanWork(job);
            }
        }
        catch (Exception e)
        {
            _stats.UnexpectedException("fuzzer worker: " + e.GetType().Name);
            Log.Line($"worker {job} failed: {e}");
        }
        finally { child?.Dispose(); }
    }

    /// <summary>Runs a crashing or hanging case again, alone, in a fresh worker with a longer time limit.</summary>
    private CaseOutcome Confirm(CaseOutcome first, long index, ulong caseSeed, byte[] data, string path, TimeSpan timeout, Queue<long> recent)
    {
        // The same failure confirmed often enough already: do not spend the time again.
        if (ConfirmedCount(first.Signature) >= MaxArtifactsPerSignature)
            return first with { Details = first.Details + "\n(not re-run: this signature was confirmed before)" };
        File.WriteAllBytes(path, data);
        using var fresh = ChildProcess.Start(_work);
        var again = fresh.Run(index, caseSeed, path, timeout * 3, Thorough(index));
        string history = $"cases run before it in the same worker (replay with --case): {string.Join(' ', recent)}";
        if (again.Kind == first.Kind)
        {
            lock (_confirmed) _confirmed[first.Signature] = _confirmed.GetValueOrDefault(first.Signature) + 1;
            return first with { Details = first.Details + "\nconfirmed: the case alone " + (first.Kind == OutcomeKind.Crash ? "crashes" : "hangs") + " again\n" + history };
        }
        if (first.Kind == OutcomeKind.Hang && again.Kind != OutcomeKind.Crash)
        {
            _stats.Count("slow cases (timed out once, finished alone)");
            return again with { Notes = again.Notes + (again.Notes.Length > 0 ? "\n" : "") + $"slow: first run timed out, alone it took {again.Elapsed.TotalSeconds:F1} s" };
        }
        if (again.Kind == OutcomeKind.Crash) return again with { Details = again.Details + "\n(first run: " + first.Kind + ")\n" + history };
        // Crashed in the batch but not alone: keep it as a crash; the earlier cases of the worker may be involved.
        return first with { Signature = "unconfirmed " + first.Signature, Details = first.Details + "\nNOT reproduced alone (" + again.Kind + "); " + history };
    }

    private readonly Dictionary<string, int> _notes = new(StringComparer.Ordinal);

    private int NoteSeen(string signature)
    {
        lock (_notes) return _notes[signature] = _notes.GetValueOrDefault(signature) + 1;
    }

    private int ConfirmedCount(string signature)
    {
        lock (_confirmed) return _confirmed.GetValueOrDefault(signature);
    }

    private void Record(CaseOutcome outcome, long index, ulong caseSeed, byte[] data, string log, string seedName)
    {
        foreach (string t in outcome.Typed)
        {
            int slash = t.IndexOf('/', StringComparison.Ordinal);
            _stats.Typed(slash >= 0 ? t[(slash + 1)..] : t);
            _stats.Count("in " + (slash >= 0 ? t[..slash] : "?"));
        }
        if (outcome.Kind == OutcomeKind.Ok && outcome.Typed.Length == 0) _stats.Count("cases without error");
        if (outcome.Notes.Length > 0)
        {
            foreach (string note in outcome.Notes.Split('\n'))
            {
                string kind = note.Split(':')[0];
                _stats.Count("note " + kind);
                // Artifacts per distinct problem (numbers masked), not just per kind of note.
                string signature = System.Text.RegularExpressions.Regex.Replace(note, "[0-9]+", "#");
                if (signature.Length > 100) signature = signature[..100];
                if (NoteSeen(signature) <= MaxArtifactsPerSignature)
                    Save($"note-{kind}-s{o.Seed}-c{index}", outcome with { Details = note, Signature = signature }, index, caseSeed, data, log, seedName);
            }
        }
        long seen = outcome.Kind switch
        {
            OutcomeKind.Crash => _stats.Crash(outcome.Signature),
            OutcomeKind.Hang => _stats.Hang(outcome.Signature),
            OutcomeKind.Unexpected => _stats.UnexpectedException(outcome.Signature),
            _ => 0,
        };
        if (seen is > 0 and <= MaxArtifactsPerSignature)
        {
            string basePath = Save($"{outcome.Kind.ToString().ToLowerInvariant()}-s{o.Seed}-c{index}", outcome, index, caseSeed, data, log, seedName);
            Log.Line($"{outcome.Kind.ToString().ToUpperInvariant()} case {index} (seed file {seedName}): {outcome.Signature} -> {basePath}.mkv");
        }
    }

    private string Save(string name, CaseOutcome outcome, long index, ulong caseSeed, byte[] data, string log, string seedName)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"mode: file");
        sb.AppendLine($"outcome: {outcome.Kind}");
        sb.AppendLine($"signature: {outcome.Signature}");
        sb.AppendLine($"run seed: {o.Seed}");
        sb.AppendLine($"case index: {index}");
        sb.AppendLine($"case seed: {caseSeed}");
        sb.AppendLine($"seed file: {seedName} (corpus {o.Corpus})");
        sb.AppendLine($"mutations: {log}");
        sb.AppendLine($"typed errors: {string.Join(", ", outcome.Typed)}");
        sb.AppendLine($"elapsed: {outcome.Elapsed.TotalSeconds:F2} s");
        sb.AppendLine($"replay the file:  dotnet MmapKv.Fuzz.dll --replay <this>.mkv --case-seed {caseSeed}{(Thorough(index) != 0 ? $" --thorough {Thorough(index)}" : "")}");
        sb.AppendLine($"regenerate:       dotnet MmapKv.Fuzz.dll --mode file --seed {o.Seed} --case {index} --corpus {o.Corpus}");
        sb.AppendLine();
        sb.AppendLine(outcome.Details);
        string basePath = Artifacts.Save(o.Artifacts, name, sb.ToString());
        File.WriteAllBytes(basePath + ".mkv", data);
        return basePath;
    }

    private void CleanWork(int job)
    {
        foreach (string f in Directory.EnumerateFiles(_work, $"w{job}.mkv*")) { try { File.Delete(f); } catch (IOException) { } }
    }

    /// <summary>Regenerates case <paramref name="index"/> of the seed, saves it, and runs it in a worker.</summary>
    private int RunOne(long index)
    {
        ulong caseSeed = Seeds.Mix(o.Seed, index);
        var (data, log, seedName) = MakeCase(index, caseSeed);
        Log.Line($"case {index}: case seed {caseSeed}, seed file {seedName}, mutations: {log}");
        Directory.CreateDirectory(o.Artifacts);
        string keep = Path.Combine(o.Artifacts, $"case-s{o.Seed}-c{index}.mkv");
        File.WriteAllBytes(keep, data);
        Log.Line($"case file saved as {keep} (replay in-process: --replay {keep} --case-seed {caseSeed})");
        string path = Path.Combine(_work, "one.mkv");
        File.WriteAllBytes(path, data);
        using var child = ChildProcess.Start(_work);
        var outcome = child.Run(index, caseSeed, path, TimeSpan.FromSeconds(o.CaseTimeoutSeconds * 3), Thorough(index));
        Log.Line($"outcome: {outcome.Kind} {outcome.Signature}; typed errors: {string.Join(", ", outcome.Typed)}; {outcome.Elapsed.TotalSeconds:F2} s");
        if (outcome.Notes.Length > 0) Log.Line("notes: " + outcome.Notes);
        if (outcome.Details.Length > 0) Console.WriteLine(outcome.Details);
        return outcome.Kind == OutcomeKind.Ok ? 0 : 1;
    }
}
