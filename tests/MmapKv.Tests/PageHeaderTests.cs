using System.Buffers.Binary;
using MmapKv.FreeSpace;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The page header (docs/format.md): field offsets, page kinds, and the header accessors.
/// </summary>
public unsafe class PageHeaderTests
{
    [Fact]
    public void PageHeader_FieldOffsetsAndSize_MatchTheFormat()
    {
        Assert.Equal(0, PageHeader.ChecksumOffset);
        Assert.Equal(4, PageHeader.KindOffset);
        Assert.Equal(5, PageHeader.FlagsOffset);
        Assert.Equal(6, PageHeader.CountOffset);
        Assert.Equal(8, PageHeader.PageIdOffset);
        Assert.Equal(16, PageHeader.TxnIdOffset);
        Assert.Equal(24, PageHeader.UpperOffset);
        Assert.Equal(28, PageHeader.RunPagesOffset);
        Assert.Equal(32, PageHeader.Size);
    }

    [Fact]
    public void PageKind_Values_MatchTheFormat()
    {
        Assert.Equal(0, (byte)PageKind.None);
        Assert.Equal(1, (byte)PageKind.Branch);
        Assert.Equal(2, (byte)PageKind.Leaf);
        Assert.Equal(3, (byte)PageKind.Overflow);
        Assert.Equal(4, (byte)PageKind.FreeMapDirectory);
        Assert.Equal(5, (byte)PageKind.FreeMapBitmap);
    }

    [Fact]
    public void PageHeader_Init_SetsEveryFieldAndClearsStaleBytes()
    {
        var buf = new byte[4096];
        Array.Fill(buf, (byte)0xFF);
        fixed (byte* p = buf)
        {
            PageHeader.Init(p, PageKind.Leaf, pageId: 0x0102030405060708, txnId: 0x1122334455667788, upper: 0xA1B2C3D4, runPages: 0x01020304);
            Assert.Equal(PageKind.Leaf, PageHeader.Kind(p));
            Assert.Equal(0, PageHeader.Flags(p));
            Assert.Equal(0, PageHeader.Count(p));
            Assert.Equal(0x0102030405060708, PageHeader.PageId(p));
            Assert.Equal(0x1122334455667788, PageHeader.TxnId(p));
            Assert.Equal(0xA1B2C3D4u, PageHeader.Upper(p));
            Assert.Equal(0x01020304u, PageHeader.RunPages(p));
            Assert.Equal(0u, PageHeader.Checksum(p));
        }
        // Raw little-endian bytes at the documented offsets.
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(0)));
        Assert.Equal((byte)PageKind.Leaf, buf[4]);
        Assert.Equal(0, buf[5]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(6)));
        Assert.Equal(0x0102030405060708, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(8)));
        Assert.Equal(0x1122334455667788, BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(16)));
        Assert.Equal(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(24)));
        Assert.Equal(0x01020304u, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(28)));
        // Nothing past the header is touched.
        Assert.All(buf[PageHeader.Size..], b => Assert.Equal(0xFF, b));
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)1)]
    [InlineData((byte)2)]
    [InlineData((byte)3)]
    [InlineData((byte)4)]
    public void PageHeader_Kind_RoundTripsThroughInit(byte kindByte)
    {
        var kind = (PageKind)kindByte;
        var buf = new byte[PageHeader.Size];
        fixed (byte* p = buf)
        {
            PageHeader.Init(p, kind, 2, 3, 4, 5);
            Assert.Equal(kind, PageHeader.Kind(p));
        }
    }

    [Fact]
    public void PageHeader_Setters_RoundTripAndTouchOnlyTheirField()
    {
        var buf = new byte[64];
        fixed (byte* p = buf)
        {
            PageHeader.Init(p, PageKind.Branch, 7, 9, 4096, 1);
            byte[] before = buf.ToArray();

            PageHeader.SetCount(p, 0xFFFF);
            Assert.Equal(0xFFFF, PageHeader.Count(p));
            AssertOnlyChanged(before, buf, PageHeader.CountOffset, 2);
            before = buf.ToArray();

            PageHeader.SetCount(p, 513);
            Assert.Equal(513, PageHeader.Count(p));
            AssertOnlyChanged(before, buf, PageHeader.CountOffset, 2);
            before = buf.ToArray();

            PageHeader.SetUpper(p, 0xDEADBEEF);
            Assert.Equal(0xDEADBEEFu, PageHeader.Upper(p));
            AssertOnlyChanged(before, buf, PageHeader.UpperOffset, 4);
            before = buf.ToArray();

            PageHeader.SetChecksum(p, 0xCAFEBABE);
            Assert.Equal(0xCAFEBABEu, PageHeader.Checksum(p));
            AssertOnlyChanged(before, buf, PageHeader.ChecksumOffset, 4);
            before = buf.ToArray();

            PageHeader.SetTxnId(p, long.MaxValue - 1);
            Assert.Equal(long.MaxValue - 1, PageHeader.TxnId(p));
            AssertOnlyChanged(before, buf, PageHeader.TxnIdOffset, 8);
            before = buf.ToArray();

            PageHeader.SetPageId(p, 0x0123456789ABCDEF);
            Assert.Equal(0x0123456789ABCDEF, PageHeader.PageId(p));
            AssertOnlyChanged(before, buf, PageHeader.PageIdOffset, 8);

            // Fields not set since Init keep their values.
            Assert.Equal(PageKind.Branch, PageHeader.Kind(p));
            Assert.Equal(0, PageHeader.Flags(p));
            Assert.Equal(1u, PageHeader.RunPages(p));
        }
    }

    private static void AssertOnlyChanged(byte[] before, byte[] after, int offset, int length)
    {
        for (int i = 0; i < before.Length; i++)
            if (i < offset || i >= offset + length)
                Assert.True(before[i] == after[i], $"byte {i} changed outside field [{offset}, {offset + length})");
        Assert.False(before.AsSpan(offset, length).SequenceEqual(after.AsSpan(offset, length)), "the field did not change");
    }
}
