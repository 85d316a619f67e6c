namespace MmapKv.Benchmarks.Workloads;

/// <summary>Every measurement of a run, by row and engine; the report uses the median of the repetitions.</summary>
internal sealed class Results
{
    private readonly Dictionary<(string Row, string Engine), List<double>> _values = new();
    private readonly List<Row> _rows = new();

    /// <summary>Rows in the order they were first measured.</summary>
    public IReadOnlyList<Row> Rows => _rows;

    /// <summary>Extra per-engine facts (allocations per operation and the like), by engine then name.</summary>
    public Dictionary<string, Dictionary<string, double>> Notes { get; } = new();

    public void Add(Row row, string engine, double value)
    {
        lock (_values)
        {
            if (!_rows.Any(r => r.Id == row.Id))
            {
                _rows.Add(row);
                // Standard rows in the plan's order whatever order they were measured in; others as they came.
                int Order(Row r) => Array.FindIndex(Workloads.Rows.Standard, x => x.Id == r.Id) is var k and >= 0 ? k : int.MaxValue;
                var sorted = _rows.Select((r, i) => (r, i)).OrderBy(t => Order(t.r)).ThenBy(t => t.i).Select(t => t.r).ToList();
                _rows.Clear();
                _rows.AddRange(sorted);
            }
            if (!_values.TryGetValue((row.Id, engine), out var list)) _values[(row.Id, engine)] = list = new();
            list.Add(value);
        }
    }

    public void Note(string engine, string name, double value)
    {
        lock (_values)
        {
            if (!Notes.TryGetValue(engine, out var d)) Notes[engine] = d = new();
            d[name] = value;
        }
    }

    public IReadOnlyList<double> Samples(Row row, string engine) =>
        _values.TryGetValue((row.Id, engine), out var list) ? list : [];

    public double? Median(Row row, string engine)
    {
        var s = Samples(row, engine).Order().ToArray();
        if (s.Length == 0) return null;
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>Peer / MmapKv, so above 1 means MmapKv is faster (or smaller).</summary>
    public double? Ratio(Row row, string peer, string baseline = "mmapkv")
    {
        double? p = Median(row, peer), b = Median(row, baseline);
        return p is { } pv && b is { } bv && bv > 0 ? pv / bv : null;
    }
}

/// <summary>An engine returned something other than what it was given. Always fatal: a wrong engine has no speed.</summary>
internal sealed class VerificationException(string message) : Exception(message);
