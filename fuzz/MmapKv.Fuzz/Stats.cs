using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace MmapKv.Fuzz;

/// <summary>
/// The counts every mode reports: cases, typed (expected) errors by type, crashes, hangs, unexpected exceptions and
/// invariant violations, plus mode-specific counters. Thread-safe.
/// </summary>
internal sealed class Stats
{
    private long _cases, _crashes, _hangs, _unexpected, _violations;
    private readonly ConcurrentDictionary<string, long> _typed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public string Mode { get; }
    public ulong Seed { get; }

    public Stats(string mode, ulong seed)
    {
        Mode = mode;
        Seed = seed;
    }

    public long Cases => Interlocked.Read(ref _cases);
    public long Crashes => Interlocked.Read(ref _crashes);
    public long Hangs => Interlocked.Read(ref _hangs);
    public long Unexpected => Interlocked.Read(ref _unexpected);
    public long Violations => Interlocked.Read(ref _violations);
    public bool Failed => Crashes + Hangs + Unexpected + Violations > 0;
    public TimeSpan Elapsed => _clock.Elapsed;

    public void Case() => Interlocked.Increment(ref _cases);
    public void Typed(string type, long n = 1) => _typed.AddOrUpdate(type, n, (_, v) => v + n);
    public void Count(string counter, long n = 1) => _counters.AddOrUpdate(counter, n, (_, v) => v + n);
    public long Counter(string counter) => _counters.TryGetValue(counter, out long v) ? v : 0;

    /// <summary>Counts a failure and returns how many failures with this signature were seen (1 for the first).</summary>
    public long Crash(string signature) { Interlocked.Increment(ref _crashes); return Signature("crash: " + signature); }
    public long Hang(string signature) { Interlocked.Increment(ref _hangs); return Signature("hang: " + signature); }
    public long UnexpectedException(string signature) { Interlocked.Increment(ref _unexpected); return Signature("unexpected: " + signature); }
    public long Violation(string signature) { Interlocked.Increment(ref _violations); return Signature("violation: " + signature); }

    private long Signature(string s) => _failures.AddOrUpdate(s, 1, (_, v) => v + 1);

    public string Format(bool final)
    {
        double secs = Math.Max(Elapsed.TotalSeconds, 0.001);
        var sb = new StringBuilder();
        sb.Append(final ? "== FINAL " : "-- ");
        sb.Append($"{Mode} mode, seed {Seed}, {secs:F0} s: cases {Cases} ({Cases / secs:F1}/s), crashes {Crashes}, hangs {Hangs}, " +
                  $"unexpected exceptions {Unexpected}, violations {Violations}");
        if (!_typed.IsEmpty)
        {
            sb.AppendLine();
            sb.Append("   typed errors: ");
            sb.Append(string.Join(", ", _typed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        }
        if (!_counters.IsEmpty)
        {
            sb.AppendLine();
            sb.Append("   counters: ");
            sb.Append(string.Join(", ", _counters.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        }
        if (!_failures.IsEmpty)
        {
            foreach (var (sig, n) in _failures.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                sb.AppendLine();
                sb.Append($"   FAILURE x{n}: {sig}");
            }
        }
        if (final)
        {
            sb.AppendLine();
            sb.Append(Failed ? "RESULT: FAIL" : "RESULT: PASS");
        }
        return sb.ToString();
    }

    /// <summary>Prints the counts every <paramref name="seconds"/> until disposed.</summary>
    public IDisposable PrintPeriodically(double seconds)
    {
        if (seconds <= 0) return new Timer(_ => { });
        return new Timer(_ => Log.Line(Format(final: false)), null, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds));
    }
}

internal static class Log
{
    private static readonly object Gate = new();

    public static void Line(string text)
    {
        lock (Gate)
        {
            Console.Out.WriteLine($"[{DateTime.Now:HH:mm:ss}] {text}");
            Console.Out.Flush();
        }
    }
}

/// <summary>Saves failing inputs with what is needed to replay them.</summary>
internal static class Artifacts
{
    private static readonly object Gate = new();

    /// <summary>Writes <c>NAME.txt</c> (and <c>NAME.db</c> when <paramref name="file"/> is given); returns the base path.</summary>
    public static string Save(string dir, string name, string details, byte[]? file = null)
    {
        lock (Gate)
        {
            Directory.CreateDirectory(dir);
            string safe = new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
            if (safe.Length > 120) safe = safe[..120];
            string basePath = Path.Combine(dir, safe);
            for (int n = 2; File.Exists(basePath + ".txt"); n++) basePath = Path.Combine(dir, $"{safe}-{n}");
            if (file is not null) File.WriteAllBytes(basePath + ".db", file);
            File.WriteAllText(basePath + ".txt", details);
            return basePath;
        }
    }
}
