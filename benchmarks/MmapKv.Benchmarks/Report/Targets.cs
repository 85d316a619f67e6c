using MmapKv.Benchmarks.Workloads;

namespace MmapKv.Benchmarks.Report;

/// <summary>A target of docs/benchmarks.md: peer / MmapKv on one row must reach <see cref="Minimum"/>.</summary>
internal sealed record Target(string Name, Row Row, string Peer, double Minimum)
{
    /// <summary>The targets table of docs/benchmarks.md, one entry per (row, peer) it covers.</summary>
    public static IEnumerable<Target> All()
    {
        yield return new("random reads vs LMDB", Rows.RandomReads, "lmdb", 1.3);
        yield return new("range reads vs LMDB", Rows.RangeReads, "lmdb", 1.0);
        yield return new("full scan vs LMDB", Rows.FullScan, "lmdb", 1.0);
        yield return new("bulk load vs LMDB", Rows.BulkLoad, "lmdb", 1.0);
        yield return new("batch writes vs LMDB", Rows.BatchWrites, "lmdb", 1.0);
        yield return new("individual durable writes vs LMDB", Rows.IndividualWrites, "lmdb", 1.5);
        yield return new("group commit, 4 threads, vs LMDB", Rows.GroupCommit, "lmdb", 3.0);
        foreach (string peer in new[] { "sqlite", "rocksdb" })
        {
            string name = peer == "sqlite" ? "SQLite" : "RocksDB";
            foreach (var r in Rows.Standard.Where(r => r.IsRead))
                yield return new($"{r.Label} vs {name} (reads)", r, peer, 3.0);
            foreach (var r in Rows.Standard.Where(r => r.IsWrite))
                yield return new($"{r.Label} vs {name} (writes)", r, peer, 1.5);
        }
        yield return new("file size after load vs LMDB (MmapKv ≤ 1.0× LMDB)", Rows.SizeAfterLoad, "lmdb", 1.0);
    }
}
