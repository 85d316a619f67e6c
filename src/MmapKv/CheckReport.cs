namespace MmapKv;

/// <summary>The result of <see cref="KvDatabase.Check"/>: every problem found, or none.</summary>
public sealed class CheckReport
{
    internal const int MaxListed = 1000;
    private readonly List<string> _problems = new();

    /// <summary>The commit that was checked.</summary>
    public long TxnId { get; internal init; }

    /// <summary>Whether the database passed every check.</summary>
    public bool IsValid => ProblemCount == 0;

    /// <summary>Descriptions of the problems found (the first 1000).</summary>
    public IReadOnlyList<string> Problems => _problems;

    /// <summary>All problems found, including those beyond the listed ones.</summary>
    public int ProblemCount { get; private set; }

    /// <summary>Pages reachable from the trees (branch, leaf and overflow).</summary>
    public long ReachablePages { get; internal set; }

    /// <summary>Free pages (the count <see cref="KvStats.FreePages"/> gives; the map's own pages are not included).</summary>
    public long FreePages { get; internal set; }

    /// <summary>Pages holding the free-space map itself, its directory and bitmap pages (<see cref="KvStats.FreeMapPages"/>).</summary>
    public long FreeMapPages { get; internal set; }

    /// <summary>Pages below the high-water mark, meta pages included.</summary>
    public long PageCount { get; internal init; }

    /// <summary>Persistent savepoints in the table (docs/format.md §13).</summary>
    public int Savepoints { get; internal set; }

    /// <summary>Pages kept for persistent savepoints: their table, and what only their states reach (<see cref="KvStats.SavepointPages"/>).</summary>
    public long SavepointPages { get; internal set; }

    /// <summary>Entries counted across the default and named trees (the catalog's own entries are not counted).</summary>
    public long Entries { get; internal set; }

    internal void Add(string problem)
    {
        ProblemCount++;
        if (_problems.Count < MaxListed) _problems.Add(problem);
    }

    /// <inheritdoc/>
    public override string ToString() => IsValid
        ? $"OK: txn {TxnId}, {PageCount} pages ({ReachablePages} in trees, {FreePages} free, {FreeMapPages} free map"
          + (Savepoints == 0 ? "" : $", {SavepointPages} kept for {Savepoints} savepoint(s)") + $"), {Entries} entries"
        : $"{ProblemCount} problem(s) at txn {TxnId}:{Environment.NewLine}" + string.Join(Environment.NewLine, _problems);
}
