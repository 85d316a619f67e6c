using System.Buffers.Binary;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The tree descriptor: field offsets, round trip, span lengths and validation.
/// </summary>
public unsafe class TreeDescriptorTests
{
    [Fact]
    public void TreeDescriptor_FieldOffsetsAndSize_MatchTheFormat()
    {
        Assert.Equal(0, TreeDescriptor.RootOffset);
        Assert.Equal(8, TreeDescriptor.EntriesOffset);
        Assert.Equal(16, TreeDescriptor.BranchPagesOffset);
        Assert.Equal(24, TreeDescriptor.LeafPagesOffset);
        Assert.Equal(32, TreeDescriptor.OverflowPagesOffset);
        Assert.Equal(40, TreeDescriptor.DepthOffset);
        Assert.Equal(44, TreeDescriptor.FlagsOffset);
        Assert.Equal(48, TreeDescriptor.Size);
    }

    [Fact]
    public void TreeDescriptor_WriteThenRead_RoundTripsEveryField()
    {
        var d = new TreeDescriptor { Root = 0x0102030405060708, Entries = long.MaxValue, BranchPages = 3, LeafPages = 4, OverflowPages = 5, Depth = 40 };
        var buf = new byte[TreeDescriptor.Size + 8];
        Array.Fill(buf, (byte)0xFF);
        d.Write(buf.AsSpan(0, TreeDescriptor.Size));
        Assert.Equal(d, TreeDescriptor.Read(buf.AsSpan(0, TreeDescriptor.Size)));
        fixed (byte* p = buf) Assert.Equal(d, TreeDescriptor.Read(p));
        Assert.Equal(0x0102030405060708, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(0)));
        Assert.Equal(long.MaxValue, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(8)));
        Assert.Equal(3, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(16)));
        Assert.Equal(4, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(24)));
        Assert.Equal(5, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(32)));
        Assert.Equal(40, BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(40)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(44))); // reserved flags written as zero
        Assert.All(buf[TreeDescriptor.Size..], b => Assert.Equal(0xFF, b));     // nothing past the descriptor
        Assert.False(d.IsEmpty);
        Assert.True(default(TreeDescriptor).IsEmpty);
    }

    [Fact]
    public void TreeDescriptor_ReadOrWriteWithWrongSpanLength_ThrowsArgumentException()
    {
        var d = new TreeDescriptor { Root = 5, LeafPages = 1, Depth = 1 };
        Assert.Throws<ArgumentException>(() => TreeDescriptor.Read(new byte[TreeDescriptor.Size - 1]));
        Assert.Throws<ArgumentException>(() => TreeDescriptor.Read(new byte[TreeDescriptor.Size + 1]));
        Assert.Throws<ArgumentException>(() => d.Write(new byte[TreeDescriptor.Size - 1]));
        d.Write(new byte[TreeDescriptor.Size]);
    }

    [Fact]
    public void TreeDescriptor_Validate_EnforcesTheDescriptorRules()
    {
        const long pages = 10;
        var ok = new TreeDescriptor { Root = 5, Entries = 3, BranchPages = 0, LeafPages = 1, OverflowPages = 0, Depth = 1 };
        Assert.Null(default(TreeDescriptor).Validate(pages));
        Assert.Null(ok.Validate(pages));
        Assert.Null((ok with { Root = 2 }).Validate(pages));
        Assert.Null((ok with { Root = 9 }).Validate(pages));
        Assert.Null((ok with { Depth = Limits.MaxTreeDepth }).Validate(pages));
        Assert.Null((ok with { Entries = 0 }).Validate(pages));

        // An empty tree has no counters.
        Assert.NotNull((default(TreeDescriptor) with { Entries = 1 }).Validate(pages));
        Assert.NotNull((default(TreeDescriptor) with { Depth = 1 }).Validate(pages));
        Assert.NotNull((default(TreeDescriptor) with { LeafPages = 1 }).Validate(pages));
        Assert.NotNull((default(TreeDescriptor) with { BranchPages = 1 }).Validate(pages));
        Assert.NotNull((default(TreeDescriptor) with { OverflowPages = 1 }).Validate(pages));
        // The root lies in [2, pageCount).
        Assert.NotNull((ok with { Root = 1 }).Validate(pages));
        Assert.NotNull((ok with { Root = -5 }).Validate(pages));
        Assert.NotNull((ok with { Root = 10 }).Validate(pages));
        // Depth within [1, MaxTreeDepth].
        Assert.NotNull((ok with { Depth = 0 }).Validate(pages));
        Assert.NotNull((ok with { Depth = Limits.MaxTreeDepth + 1 }).Validate(pages));
        Assert.NotNull((ok with { Depth = -1 }).Validate(pages));
        // Counters.
        Assert.NotNull((ok with { LeafPages = 0 }).Validate(pages));
        Assert.NotNull((ok with { Entries = -1 }).Validate(pages));
        Assert.NotNull((ok with { BranchPages = -1 }).Validate(pages));
        Assert.NotNull((ok with { OverflowPages = -1 }).Validate(pages));
    }
}
