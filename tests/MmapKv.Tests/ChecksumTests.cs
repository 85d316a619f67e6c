using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The page checksum: CRC32C check values, a bitwise reference, and the bytes a page checksum covers.
/// </summary>
public unsafe class ChecksumTests
{
    [Fact]
    public void Checksum_Compute_MatchesTheCrc32cCheckValue()
    {
        Assert.Equal(0xE3069283u, Checksum.Compute("123456789"u8));
        Assert.Equal(0u, Checksum.Compute(ReadOnlySpan<byte>.Empty));
        // RFC 3720 B.4: 32 bytes of zeros and of 0xFF.
        Assert.Equal(0x8A9136AAu, Checksum.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Checksum.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Checksum.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    private static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void Checksum_Compute_MatchesBitwiseReferenceForEveryLengthAndAlignment()
    {
        var rng = new Random(12345);
        var data = new byte[300];
        rng.NextBytes(data);
        for (int offset = 0; offset < 9; offset++)
            for (int len = 0; len + offset <= 200; len++)
                Assert.True(ReferenceCrc32C(data.AsSpan(offset, len)) == Checksum.Compute(data.AsSpan(offset, len)), $"offset {offset}, length {len}");
    }

    [Fact]
    public void Checksum_OfPage_CoversEveryByteAfterTheChecksumField()
    {
        var page = new byte[4096];
        new Random(7).NextBytes(page);
        fixed (byte* p = page)
        {
            uint crc = Checksum.OfPage(p, page.Length);
            Assert.Equal(Checksum.Compute(page.AsSpan(4)), crc);
            page[0] ^= 0xFF; page[3] ^= 0xFF;       // the checksum field itself is excluded
            Assert.Equal(crc, Checksum.OfPage(p, page.Length));
            page[4] ^= 1;
            Assert.NotEqual(crc, Checksum.OfPage(p, page.Length));
            page[4] ^= 1;
            page[4095] ^= 0x80;
            Assert.NotEqual(crc, Checksum.OfPage(p, page.Length));
        }
    }
}
