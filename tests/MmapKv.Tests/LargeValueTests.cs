using Xunit;

namespace MmapKv.Tests;

public class LargeValueTests
{
    /// <summary>A 1 GiB value is one overflow run: stored, read back as one span after reopen, overwritten and freed.</summary>
    [Fact]
    public void OneGibibyteValue_RoundTripsAsOneSpan()
    {
        using var dir = new TempDir();
        const int size = 1 << 30;
        var value = GC.AllocateUninitializedArray<byte>(size);
        for (int i = 0; i < size; i += 4096) BitConverter.TryWriteBytes(value.AsSpan(i), i * 2654435761u);
        uint expected = MmapKv.Format.Checksum.Compute(value);
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("huge"u8, value);
            tx.Put("small"u8, "x"u8);
            tx.Commit();
        }
        value = null!;
        GC.Collect();
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { VerifyChecksums = true }))
        {
            using (var tx = db.BeginRead())
            {
                Assert.True(tx.TryGet("huge"u8, out var v));
                Assert.Equal(size, v.Length);
                Assert.Equal(expected, MmapKv.Format.Checksum.Compute(v));
            }
            Assert.True(db.Check().IsValid);
            using (var tx = db.BeginWrite())
            {
                tx.Put("huge"u8, "now small"u8);
                tx.Commit();
            }
            var stats = db.GetStats();
            Assert.Equal(0, stats.Main.OverflowPages);
            Assert.True(stats.FreePages >= size / 4096, "the run was not freed");
        }
    }
}
