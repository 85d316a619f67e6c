using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Slot and entry layout of node pages: slot and tail sizes, inline versus overflow values, overflow run lengths.
/// </summary>
public unsafe class NodeLayoutTests
{
    public static TheoryData<int> ValidPageSizes => new() { 4096, 8192, 16384, 32768, 65536 };

    [Fact]
    public void NodeLayout_SlotAndTailSizes_MatchTheFormat()
    {
        Assert.Equal(0, NodeLayout.SlotHintOffset);
        Assert.Equal(4, NodeLayout.SlotEntryOffset);
        Assert.Equal(6, NodeLayout.SlotKeyLengthOffset);
        Assert.Equal(8, NodeLayout.SlotSize);
        Assert.Equal(4, NodeLayout.ValueInfoSize);
        Assert.Equal(12, NodeLayout.OverflowTailSize);
        Assert.Equal(8, NodeLayout.BranchTailSize);
        Assert.Equal(0x8000_0000u, NodeLayout.OverflowFlag);
        Assert.Equal(0x7FFF_FFFFu, NodeLayout.LengthMask);
    }

    [Theory]
    [MemberData(nameof(ValidPageSizes))]
    public void NodeLayout_IsInline_SwitchesToOverflowExactlyPastMaxEntrySize(int ps)
    {
        int maxEntry = Limits.MaxEntrySize(ps);
        int key = 10;
        int largestInline = maxEntry - NodeLayout.SlotSize - key - NodeLayout.ValueInfoSize;
        Assert.True(NodeLayout.IsInline(ps, key, largestInline));
        Assert.False(NodeLayout.IsInline(ps, key, largestInline + 1));
        Assert.Equal(key + NodeLayout.ValueInfoSize + 7, NodeLayout.InlineLeafEntrySize(key, 7));
    }

    [Fact]
    public void NodeLayout_OverflowRunPages_CountsTheHeaderInTheFirstPage()
    {
        Assert.Equal(1, NodeLayout.OverflowRunPages(4096, 0));
        Assert.Equal(1, NodeLayout.OverflowRunPages(4096, 1));
        Assert.Equal(1, NodeLayout.OverflowRunPages(4096, 4096 - PageHeader.Size));
        Assert.Equal(2, NodeLayout.OverflowRunPages(4096, 4096 - PageHeader.Size + 1));
        Assert.Equal(2, NodeLayout.OverflowRunPages(4096, 2 * 4096 - PageHeader.Size));
        Assert.Equal(3, NodeLayout.OverflowRunPages(4096, 2 * 4096 - PageHeader.Size + 1));
        Assert.Equal(1, NodeLayout.OverflowRunPages(65536, 65536 - PageHeader.Size));
        // The largest value (31-bit length) does not overflow the arithmetic.
        Assert.Equal((PageHeader.Size + (long)int.MaxValue + 4095) / 4096, NodeLayout.OverflowRunPages(4096, int.MaxValue));
    }
}
