using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Page-size limits: the valid page sizes and the largest entry and key.
/// </summary>
public unsafe class LimitsTests
{
    [Fact]
    public void Limits_MaxKeySizeOf4KiBPages_Is996()
    {
        Assert.Equal(1016, Limits.MaxEntrySize(4096));
        Assert.Equal(996, Limits.MaxKeySize(4096));
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(8192)]
    [InlineData(16384)]
    [InlineData(32768)]
    [InlineData(65536)]
    public void Limits_EntryAndKeySizes_KeepTheQuarterPageInvariant(int pageSize)
    {
        int maxEntry = Limits.MaxEntrySize(pageSize);
        Assert.Equal((pageSize - PageHeader.Size) / 4, maxEntry);
        // Four largest entries fit in a page's usable space, so a page one entry too full splits into halves that fit.
        Assert.True(4 * maxEntry <= pageSize - PageHeader.Size);
        int maxKey = Limits.MaxKeySize(pageSize);
        Assert.True(maxKey >= 511, $"max key {maxKey}");
        // A leaf entry with the largest key and an overflow reference fits exactly.
        Assert.Equal(maxEntry, NodeLayout.SlotSize + maxKey + NodeLayout.OverflowTailSize);
        // A branch entry with the largest key fits too.
        Assert.True(NodeLayout.SlotSize + maxKey + NodeLayout.BranchTailSize <= maxEntry);
        // The key length and entry offset are u16 slot fields.
        Assert.True(maxKey <= ushort.MaxValue);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(8192)]
    [InlineData(16384)]
    [InlineData(32768)]
    [InlineData(65536)]
    public void Limits_IsValidPageSize_AcceptsPowersOfTwoFrom4KiBTo64KiB(int pageSize) =>
        Assert.True(Limits.IsValidPageSize(pageSize));

    [Theory]
    [InlineData(0)]
    [InlineData(-4096)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(2048)]
    [InlineData(4095)]
    [InlineData(4097)]
    [InlineData(6144)]
    [InlineData(12288)]
    [InlineData(65535)]
    [InlineData(131072)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void Limits_IsValidPageSize_RejectsOtherSizes(int pageSize) =>
        Assert.False(Limits.IsValidPageSize(pageSize));
}
