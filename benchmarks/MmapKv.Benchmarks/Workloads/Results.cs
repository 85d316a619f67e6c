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

    private readonly HashSet<(string Row, string Engine)> _notApplicable = new();

    /// <summary>Notes on single rows (how a figure was obtained, what it means), by row id.</summary>
    public Dictionary<string, List<string>> RowNotes { get; } = new();

    /// <summary>Notes on the run as a whole (engine settings that matter, native-library facts).</summary>
    public List<string> RunNotes { get; } = new();

    public void Add(Row row, string engine, double value)
    {
        lock (_values)
        {
            AddRow(row);
            if (!_values.TryGetValue((row.Id, engine), out var list)) _values[(row.Id, engine)] = list = new();
            list.Add(value);
        }
    }

    /// <summary>The engine cannot do this workload with the run's durability: the report says "n/a".</summary>
    public void NotApplicable(Row row, string engine)
    {
        lock (_values)
        {
            AddRow(row);
            _notApplicable.Add((row.Id, engine));
        }
    }

    public bool IsNotApplicable(Row row, string engine) => _notApplicable.Contains((row.Id, engine));

    public void RowNote(Row row, string note)
    {
        lock (_values)
        {
            if (!RowNotes.TryGetValue(row.Id, out var list)) RowNotes[row.Id] = list = new();
            if (!list.Contains(note)) list.Add(note);
        }
    }

    public void RunNote(string note)
    {
        lock (_values)
            if (!RunNotes.Contains(note)) RunNotes.Add(note);
    }

    private void AddRow(Row row)
    {
        if (_rows.Any(r => r.Id == row.Id)) return;
        _rows.Add(row);
        // Standard rows in the plan's order whatever order they were measured in (a derived row right after the
        // row it derives from); others as they came.
        double Order(Row r) =>
            r.Id == Workloads.Rows.FloorFraction.Id ? Array.IndexOf(Workloads.Rows.Standard, Workloads.Rows.IndividualWrites) + 0.5
            : r.Id == Workloads.Rows.CommitsPerFlush.Id ? Array.IndexOf(Workloads.Rows.Standard, Workloads.Rows.GroupCommit) + 0.5
            : Array.FindIndex(Workloads.Rows.Standard, x => x.Id == r.Id) is var k and >= 0 ? k : double.MaxValue;
        var sorted = _rows.Select((r, i) => (r, i)).OrderBy(t => Order(t.r)).ThenBy(t => t.i).Select(t => t.r).ToList();
        _rows.Clear();
        _rows.AddRange(sorted);
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

    /// <summary>
    /// Peer / MmapKv for times and sizes, MmapKv / peer for rates: either way above 1 means MmapKv is faster (or
    /// smaller).
    /// </summary>
    public double? Ratio(Row row, string peer, string baseline = "mmapkv")
    {
        if (row.Kind is MetricKind.Fraction or MetricKind.PerEvent) return null; // a ratio against the floor; a count
        double? p = Median(row, peer), b = Median(row, baseline);
        if (p is not { } pv || b is not { } bv) return null;
        if (row.Kind == MetricKind.Rate) return pv > 0 ? bv / pv : null;
        return bv > 0 ? pv / bv : null;
    }
}

/// <summary>An engine returned something other than what it was given. Always fatal: a wrong engine has no speed.</summary>
internal sealed class VerificationException(string message) : Exception(message);
