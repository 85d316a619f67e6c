using Xunit;

namespace MmapKv.Tests;

public class CheckReportTests
{
    /// <summary>Check() and GetStats() count the same pages under the same names (free pages apart from the map's own).</summary>
    [Fact]
    public void FreeAndFreeMapCounts_AgreeWithGetStats()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 3000; i++) tx.Put(Bytes.Of($"k{i:D6}"), new byte[100]);
            tx.Commit();
        }
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 1500; i++) tx.Delete(Bytes.Of($"k{i:D6}"));
            tx.Commit();
        }
        var stats = db.GetStats();
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
        Assert.True(stats.FreePages > 0 && stats.FreeMapPages > 0);
        Assert.Equal(stats.FreePages, report.FreePages);
        Assert.Equal(stats.FreeMapPages, report.FreeMapPages);
        Assert.Equal(stats.PageCount, report.PageCount);
        Assert.Equal(report.PageCount, 2 + report.ReachablePages + report.FreePages + report.FreeMapPages); // 2 meta pages
        Assert.Contains($" {report.FreePages} free, {report.FreeMapPages} free map)", report.ToString());
    }
}
