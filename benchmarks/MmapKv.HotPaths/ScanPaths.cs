using System.Text;
using BenchmarkDotNet.Attributes;

namespace MmapKv.HotPaths;

/// <summary>
/// Scans of 100 entries inside one long-lived read transaction: a range, a prefix, a prefix in reverse, and the
/// same range walked with a <see cref="KvCursor"/> for comparison. The scans are ref structs over an inline tree
/// path, so each must allocate nothing (the "Allocated" column must read "-" or 0 B). The entries are a named tree
/// of 10,000 keys in 100 groups of 100 (<c>g:NNNN:MM</c>), 150-byte values, next to the fixture's 100,000.
/// </summary>
[MemoryDiagnoser]
public class ScanPaths
{
    private const int Groups = 100;
    private const int PerGroup = 100;
    private const int Batch = 10; // scans per invocation
    private Fixture _f = null!;
    private ReadTransaction _tx;
    private KvTree _tree = null!;
    private KvCursor _cursor = null!;
    private byte[][] _prefixes = null!; // g:NNNN:, one per group
    private byte[][] _starts = null!;   // g:NNNN:00, the first key of each group
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _f = new Fixture(Durability.Immediate);
        _prefixes = new byte[Groups + 1][];
        _starts = new byte[Groups + 1][];
        for (int g = 0; g <= Groups; g++)
        {
            _prefixes[g] = Encoding.ASCII.GetBytes($"g:{g:D4}:");
            _starts[g] = Encoding.ASCII.GetBytes($"g:{g:D4}:00");
        }
        using (var w = _f.Db.BeginWrite())
        {
            var t = w.OpenTree("scan");
            for (int g = 0; g < Groups; g++)
                for (int i = 0; i < PerGroup; i++)
                    t.Put(Encoding.ASCII.GetBytes($"g:{g:D4}:{i:D2}"), _f.Value(g * PerGroup + i));
            w.Commit(Durability.Immediate);
        }
        _tx = _f.Db.BeginRead();
        _tree = _tx.OpenTree("scan");
        _cursor = _tree.OpenCursor();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cursor.Dispose();
        _tx.Dispose();
        _f.Dispose();
    }

    private int NextGroup()
    {
        int g = _next;
        _next = g + 1 == Groups ? 0 : g + 1;
        return g;
    }

    /// <summary><c>Scan(from, to)</c> over one group: [g:NNNN:00, g:NNNN+1:00), 100 entries.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ScanRange()
    {
        int sum = 0;
        for (int b = 0; b < Batch; b++)
        {
            int g = NextGroup();
            foreach (var e in _tree.Scan(_starts[g], _starts[g + 1])) sum += e.Key[^1] + e.Value[0];
        }
        return sum;
    }

    /// <summary><c>ScanPrefix</c> of one group, 100 entries.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ScanPrefix()
    {
        int sum = 0;
        for (int b = 0; b < Batch; b++)
            foreach (var e in _tree.ScanPrefix(_prefixes[NextGroup()])) sum += e.Key[^1] + e.Value[0];
        return sum;
    }

    /// <summary><c>ScanPrefix(...).Reverse()</c> of one group, 100 entries, last to first.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ScanReverse()
    {
        int sum = 0;
        for (int b = 0; b < Batch; b++)
            foreach (var e in _tree.ScanPrefix(_prefixes[NextGroup()]).Reverse()) sum += e.Key[^1] + e.Value[0];
        return sum;
    }

    /// <summary>The range of <see cref="ScanRange"/> with a cursor: seek, then next while below the end bound.</summary>
    [Benchmark(OperationsPerInvoke = Batch, Baseline = true)]
    public int CursorScanRange()
    {
        int sum = 0;
        for (int b = 0; b < Batch; b++)
        {
            int g = NextGroup();
            var to = _starts[g + 1];
            for (bool ok = _cursor.Seek(_starts[g]); ok; ok = _cursor.Next())
            {
                var key = _cursor.Key;
                if (key.SequenceCompareTo(to) >= 0) break;
                sum += key[^1] + _cursor.Value[0];
            }
        }
        return sum;
    }
}
