namespace MmapKv.Cli;

/// <summary>A plain-text table: columns padded with spaces, no box drawing, so output stays greppable.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];
    private readonly HashSet<int> _right = [];

    public void RightAlign(params int[] columns) => _right.UnionWith(columns);

    public void Add(params string[] cells) => _rows.Add(cells);

    public void Write(TextWriter o)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        WriteRow(o, headers, widths);
        foreach (var row in _rows) WriteRow(o, row, widths);
    }

    private void WriteRow(TextWriter o, string[] cells, int[] widths)
    {
        var parts = cells.Select((c, i) => _right.Contains(i) ? c.PadLeft(widths[i]) : c.PadRight(widths[i]));
        o.WriteLine(string.Join("  ", parts).TrimEnd());
    }
}
