using System.Globalization;

namespace MmapKv.Fuzz;

internal sealed class UsageException(string message) : Exception(message);

/// <summary>Command-line options shared by every mode.</summary>
internal sealed class FuzzOptions
{
    public string Mode { get; private set; } = "file";
    public ulong Seed { get; private set; } = (ulong)DateTime.UtcNow.Ticks;
    public double TimeSeconds { get; private set; } = 60;
    public int Jobs { get; private set; } = 1;
    public string Corpus { get; private set; } = Path.Combine("fuzz", "corpus");
    public string Artifacts { get; private set; } = Path.Combine("fuzz", "artifacts");
    public string? WorkDir { get; private set; }
    /// <summary>Per-case time limit of file mode (a case running longer is a hang).</summary>
    public double CaseTimeoutSeconds { get; private set; } = 10;
    public double StatusSeconds { get; private set; } = 30;
    public long MaxCases { get; private set; } = long.MaxValue;
    /// <summary>Run only this case index of the seed (replay).</summary>
    public long? Case { get; private set; }
    public string? Replay { get; private set; }
    public ulong? CaseSeed { get; private set; }
    public bool RunFileCasesChild { get; private set; }
    public bool Verbose { get; private set; }
    /// <summary>Replay: run every optional step (1: delete all trees, then the compacting copy; 2: the reverse).</summary>
    public int Thorough { get; private set; }

    public static FuzzOptions Parse(string[] args)
    {
        var o = new FuzzOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{a} needs a value");
            switch (a)
            {
                case "--mode": o.Mode = Value(); break;
                case "--seed": o.Seed = ParseU64(Value()); break;
                case "--time": o.TimeSeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--jobs": o.Jobs = Math.Clamp(int.Parse(Value(), CultureInfo.InvariantCulture), 1, 64); break;
                case "--corpus": o.Corpus = Value(); break;
                case "--artifacts": o.Artifacts = Value(); break;
                case "--workdir": o.WorkDir = Value(); break;
                case "--timeout": o.CaseTimeoutSeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--status": o.StatusSeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--max-cases": o.MaxCases = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--case": o.Case = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--replay": o.Replay = Value(); break;
                case "--case-seed": o.CaseSeed = ParseU64(Value()); break;
                case "--run-file-cases": o.RunFileCasesChild = true; break;
                case "--verbose": o.Verbose = true; break;
                case "--thorough": o.Thorough = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                default: throw new UsageException($"unknown option '{a}'");
            }
        }
        return o;
    }

    private static ulong ParseU64(string s) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(s, CultureInfo.InvariantCulture);
}

/// <summary>Deterministic per-case seeds: case k of run seed s always gets the same generator.</summary>
internal static class Seeds
{
    public static ulong Mix(ulong seed, long index)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static Random Rng(ulong caseSeed) => new(unchecked((int)(caseSeed ^ (caseSeed >> 32))));
}
