using System.Buffers.Binary;
using System.Text;
using MmapKv.FreeSpace;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The meta record: field offsets, the magic, writing and reading a slot, and the meta invariants.
/// </summary>
public unsafe class MetaPageTests
{
    [Fact]
    public void MetaPage_FieldOffsetsAndSize_MatchTheFormat()
    {
        Assert.Equal(2, MetaPage.Count);
        Assert.Equal(5u, MetaPage.FormatVersion);
        Assert.Equal(3u, MetaPage.OldestReadableVersion);
        Assert.Equal(0, MetaPage.MagicOffset);
        Assert.Equal(8, MetaPage.VersionOffset);
        Assert.Equal(12, MetaPage.PageSizeOffset);
        Assert.Equal(16, MetaPage.TxnIdOffset);
        Assert.Equal(24, MetaPage.PageCountOffset);
        Assert.Equal(32, MetaPage.FreeMapPageOffset);
        Assert.Equal(40, MetaPage.FreeMapPagesOffset);
        Assert.Equal(48, MetaPage.MainTreeOffset);
        Assert.Equal(96, MetaPage.CatalogTreeOffset);
        Assert.Equal(144, MetaPage.ListCountOffset);
        Assert.Equal(148, MetaPage.ListChecksumOffset);
        Assert.Equal(152, MetaPage.SavepointTableOffset);
        Assert.Equal(160, MetaPage.SavepointTablePagesOffset);
        Assert.Equal(164, MetaPage.SavepointCountOffset);
        Assert.Equal(168, MetaPage.NewestSavepointOffset);
        Assert.Equal(176, MetaPage.ReservedOffset);
        Assert.Equal(252, MetaPage.ChecksumOffset);
        Assert.Equal(256, MetaPage.Size);
        Assert.True(MetaPage.ReservedOffset <= MetaPage.ChecksumOffset, "the fields overlap the checksum");
    }

    [Fact]
    public void MetaPage_Magic_IsPngStyleBytesInFileOrder()
    {
        byte[] expected = { 0x89, 0x4D, 0x4B, 0x56, 0x0D, 0x0A, 0x1A, 0x0A };
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, MetaPage.Magic);
        Assert.Equal(expected, bytes);

        // And MetaPage.Write really puts them first in the slot.
        var slot = new byte[MetaPage.Size];
        fixed (byte* p = slot) MetaPage.Write(p, SampleMeta());
        Assert.Equal(expected, slot[..8]);
        Assert.Equal("MKV", Encoding.ASCII.GetString(slot, 1, 3));
    }

    private static MetaRecord SampleMeta() => new()
    {
        PageSize = 4096,
        TxnId = 0x0102030405,
        PageCount = 100,
        FreeMapPage = 50,
        FreeMapPages = 2,
        Main = new TreeDescriptor { Root = 10, Entries = 1234, BranchPages = 3, LeafPages = 40, OverflowPages = 7, Depth = 2 },
        Catalog = new TreeDescriptor { Root = 11, Entries = 2, BranchPages = 0, LeafPages = 1, OverflowPages = 0, Depth = 1 },
    };

    private static void AssertSameMeta(MetaRecord expected, MetaRecord actual)
    {
        Assert.Equal(expected.PageSize, actual.PageSize);
        Assert.Equal(expected.TxnId, actual.TxnId);
        Assert.Equal(expected.PageCount, actual.PageCount);
        Assert.Equal(expected.FreeMapPage, actual.FreeMapPage);
        Assert.Equal(expected.FreeMapPages, actual.FreeMapPages);
        Assert.Equal(expected.Main, actual.Main);
        Assert.Equal(expected.Catalog, actual.Catalog);
    }

    [Fact]
    public void MetaPage_WriteThenTryRead_RoundTripsEveryField()
    {
        var meta = SampleMeta();
        var slot = new byte[4096];
        Array.Fill(slot, (byte)0xEE);
        fixed (byte* p = slot)
        {
            MetaPage.Write(p, meta);
            var read = MetaPage.TryRead(p, 100L * 4096, out string? problem, out bool versionMismatch);
            Assert.Null(problem);
            Assert.False(versionMismatch);
            Assert.NotNull(read);
            AssertSameMeta(meta, read.Value);
        }
        // Raw bytes at the documented offsets.
        Assert.Equal(MetaPage.FormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(slot.AsSpan(8)));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32LittleEndian(slot.AsSpan(12)));
        Assert.Equal(0x0102030405, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(16)));
        Assert.Equal(100, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(24)));
        Assert.Equal(50, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(32)));
        Assert.Equal(2, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(40)));
        Assert.Equal(10, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(48)));   // main root
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(slot.AsSpan(48 + 40))); // main depth
        Assert.Equal(11, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(96)));   // catalog root
        Assert.All(slot[MetaPage.ReservedOffset..MetaPage.ChecksumOffset], b => Assert.Equal(0, b));
        Assert.Equal(Checksum.Compute(slot.AsSpan(0, 252)), BinaryPrimitives.ReadUInt32LittleEndian(slot.AsSpan(252)));
        // Only the 256-byte record is written.
        Assert.All(slot[MetaPage.Size..], b => Assert.Equal(0xEE, b));
    }

    [Fact]
    public void MetaPage_TryRead_RejectsAnySingleFlippedByte()
    {
        var slot = new byte[MetaPage.Size];
        fixed (byte* p = slot)
        {
            MetaPage.Write(p, SampleMeta());
            for (int i = 0; i < MetaPage.Size; i++)
            {
                foreach (byte mask in new byte[] { 0x01, 0x80 })
                {
                    slot[i] ^= mask;
                    var read = MetaPage.TryRead(p, long.MaxValue / 2, out string? problem, out bool versionMismatch);
                    Assert.True(read is null, $"flipping bit {mask:x2} of byte {i} was not detected");
                    Assert.NotNull(problem);
                    Assert.False(versionMismatch, $"byte {i}: a damaged slot is not a version mismatch");
                    slot[i] ^= mask;
                }
            }
            Assert.NotNull(MetaPage.TryRead(p, long.MaxValue / 2, out _, out _));
        }
    }

    [Fact]
    public void MetaPage_TryRead_ReportsBadMagicBeforeChecksum()
    {
        var slot = new byte[MetaPage.Size];
        fixed (byte* p = slot)
        {
            MetaPage.Write(p, SampleMeta());
            slot[1] = (byte)'X';
            Assert.Null(MetaPage.TryRead(p, long.MaxValue / 2, out string? problem, out _));
            Assert.Contains("magic", problem);
            slot[1] = (byte)'M';
            slot[200] ^= 4;
            Assert.Null(MetaPage.TryRead(p, long.MaxValue / 2, out problem, out _));
            Assert.Contains("checksum", problem);
        }
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(2u)]
    [InlineData(6u)]
    [InlineData(0xFFFFFFFFu)]
    public void MetaPage_TryRead_OtherVersionWithValidChecksum_SetsVersionMismatch(uint version)
    {
        var slot = new byte[MetaPage.Size];
        fixed (byte* p = slot)
        {
            MetaPage.Write(p, SampleMeta());
            BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(MetaPage.VersionOffset), version);
            BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(MetaPage.ChecksumOffset), Checksum.Compute(slot.AsSpan(0, MetaPage.ChecksumOffset)));
            var read = MetaPage.TryRead(p, long.MaxValue / 2, out string? problem, out bool versionMismatch);
            Assert.Null(read);
            Assert.True(versionMismatch);
            Assert.Contains("version", problem);
        }
    }

    [Fact]
    public void MetaPage_TryRead_PageCountBeyondTheFile_IsRejected()
    {
        var meta = SampleMeta(); // 100 pages of 4096
        var slot = new byte[MetaPage.Size];
        fixed (byte* p = slot)
        {
            MetaPage.Write(p, meta);
            Assert.NotNull(MetaPage.TryRead(p, 100L * 4096, out _, out _));
            Assert.NotNull(MetaPage.TryRead(p, 100L * 4096 + 4095, out _, out _));
            var read = MetaPage.TryRead(p, 100L * 4096 - 1, out string? problem, out bool versionMismatch);
            Assert.Null(read);
            Assert.False(versionMismatch);
            Assert.Contains("page count", problem);
            Assert.Null(MetaPage.TryRead(p, 8192, out _, out _));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2048)]
    [InlineData(6144)]
    [InlineData(131072)]
    public void MetaPage_TryRead_InvalidPageSizeWithValidChecksum_IsRejected(int pageSize)
    {
        var slot = new byte[MetaPage.Size];
        fixed (byte* p = slot)
        {
            MetaPage.Write(p, SampleMeta() with { PageSize = pageSize });
            var read = MetaPage.TryRead(p, long.MaxValue / 2, out string? problem, out bool versionMismatch);
            Assert.Null(read);
            Assert.False(versionMismatch);
            Assert.Contains("page size", problem);
        }
    }

    [Fact]
    public void MetaRecord_Validate_EnforcesTheMetaInvariants()
    {
        long file = 100L * 4096;
        Assert.Null(SampleMeta().Validate(file));
        Assert.Null((SampleMeta() with { FreeMapPage = 0, FreeMapPages = 0 }).Validate(file));
        Assert.Null((SampleMeta() with { FreeMapPage = 98, FreeMapPages = 2 }).Validate(file));   // run ends at the last page
        Assert.Null((SampleMeta() with { PageCount = 2, FreeMapPage = 0, FreeMapPages = 0, Main = default, Catalog = default }).Validate(file));

        Assert.NotNull((SampleMeta() with { TxnId = -1 }).Validate(file));
        Assert.NotNull((SampleMeta() with { PageCount = 1 }).Validate(file));
        Assert.NotNull((SampleMeta() with { PageCount = 101 }).Validate(file));
        Assert.NotNull((SampleMeta() with { FreeMapPage = 0, FreeMapPages = 1 }).Validate(file));
        Assert.NotNull((SampleMeta() with { FreeMapPage = 1, FreeMapPages = 1 }).Validate(file));   // a meta page
        Assert.NotNull((SampleMeta() with { FreeMapPage = 50, FreeMapPages = 0 }).Validate(file));
        Assert.NotNull((SampleMeta() with { FreeMapPage = 99, FreeMapPages = 2 }).Validate(file));  // runs past the end
        Assert.NotNull((SampleMeta() with { FreeMapPage = 100, FreeMapPages = 1 }).Validate(file));
        Assert.Contains("default tree", (SampleMeta() with { Main = SampleMeta().Main with { Root = 100 } }).Validate(file));
        Assert.Contains("catalog tree", (SampleMeta() with { Catalog = SampleMeta().Catalog with { Depth = 0 } }).Validate(file));
    }
}
