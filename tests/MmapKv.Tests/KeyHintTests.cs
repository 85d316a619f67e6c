using FsCheck;
using FsCheck.Fluent;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The key hint: a big-endian 4-byte prefix whose order agrees with the bytewise key order.
/// </summary>
public unsafe class KeyHintTests
{
    private readonly ITestOutputHelper _output;

    public KeyHintTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Hint_IsBigEndianPrefix_ZeroPaddedForShortKeys()
    {
        Assert.Equal(0u, NodeLayout.Hint(ReadOnlySpan<byte>.Empty));
        Assert.Equal(0xAB000000u, NodeLayout.Hint(new byte[] { 0xAB }));
        Assert.Equal(0xABCD0000u, NodeLayout.Hint(new byte[] { 0xAB, 0xCD }));
        Assert.Equal(0xABCDEF00u, NodeLayout.Hint(new byte[] { 0xAB, 0xCD, 0xEF }));
        Assert.Equal(0xABCDEF01u, NodeLayout.Hint(new byte[] { 0xAB, 0xCD, 0xEF, 0x01 }));
        Assert.Equal(0xABCDEF01u, NodeLayout.Hint(new byte[] { 0xAB, 0xCD, 0xEF, 0x01, 0xFF, 0xFF }));
        Assert.Equal(NodeLayout.Hint("abcd"u8), NodeLayout.Hint("abcdzzzz"u8));
        Assert.Equal(NodeLayout.Hint("ab"u8), NodeLayout.Hint("ab\0\0"u8));
    }

    /// <summary>Hint(a) &lt; Hint(b) implies a &lt; b bytewise; and a &lt;= b implies Hint(a) &lt;= Hint(b).</summary>
    [Fact]
    public void Hint_Ordering_IsConsistentWithBytewiseOrder_Property()
    {
        // A small alphabet with the extremes makes shared prefixes, zero bytes and prefix keys common.
        var gen = Gen.Elements<byte>(0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF).ArrayOf();
        var pairs = Arb.From(from a in gen from b in gen select (a, b));
        // Through PropertyRunner, so the seed is printed and MMAPKV_PROP_SEED replays a failure.
        PropertyRunner.Run("Hint ordering", pairs, pair =>
        {
            var (a, b) = pair;
            uint ha = NodeLayout.Hint(a), hb = NodeLayout.Hint(b);
            int cmp = a.AsSpan().SequenceCompareTo(b);
            string keys = $"{Convert.ToHexString(a)} vs {Convert.ToHexString(b)}";
            Assert.False(ha < hb && cmp >= 0, $"smaller hint, key not smaller: {keys}");
            Assert.False(ha > hb && cmp <= 0, $"larger hint, key not larger: {keys}");
            Assert.False(cmp == 0 && ha != hb, $"equal keys, different hints: {keys}");
        }, iterations: 3000);
    }

    [Fact]
    public void Hint_Ordering_IsConsistentWithBytewiseOrder_SeededRandom()
    {
        int seed = Environment.TickCount;
        _output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        byte[] alphabet = { 0, 1, 0x7F, 0x80, 0xFF };
        byte[] RandomKey()
        {
            var k = new byte[rng.Next(0, 9)];
            for (int i = 0; i < k.Length; i++) k[i] = rng.Next(4) == 0 ? (byte)rng.Next(256) : alphabet[rng.Next(alphabet.Length)];
            return k;
        }
        for (int n = 0; n < 200_000; n++)
        {
            byte[] a = RandomKey(), b = RandomKey();
            uint ha = NodeLayout.Hint(a), hb = NodeLayout.Hint(b);
            int cmp = a.AsSpan().SequenceCompareTo(b);
            if (ha < hb) Assert.True(cmp < 0, $"seed {seed}: hint({Convert.ToHexString(a)}) < hint({Convert.ToHexString(b)}) but the key is not smaller");
            if (cmp < 0) Assert.True(ha <= hb, $"seed {seed}: {Convert.ToHexString(a)} < {Convert.ToHexString(b)} but its hint is larger");
        }
    }
}
