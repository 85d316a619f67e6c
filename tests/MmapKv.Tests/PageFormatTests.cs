using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using MmapKv.FreeSpace;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;
using Xunit.Abstractions;

namespace MmapKv.Tests;

/// <summary>
/// Unit tests of the on-disk page format (docs/format.md): layout constants, limits, header accessors, the key hint,
/// in-place node edits, the checksum, meta records, tree descriptors and the free-space map.
/// </summary>
public unsafe class PageFormatTests
{
    private readonly ITestOutputHelper _output;

    public PageFormatTests(ITestOutputHelper output) => _output = output;

    private static readonly int[] ValidPageSizes = { 4096, 8192, 16384, 32768, 65536 };

    // ---------------------------------------------------------------- layout constants

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
    public void MetaPage_FieldOffsetsAndSize_MatchTheFormat()
    {
        Assert.Equal(2, MetaPage.Count);
        Assert.Equal(1u, MetaPage.FormatVersion);
        Assert.Equal(0, MetaPage.MagicOffset);
        Assert.Equal(8, MetaPage.VersionOffset);
        Assert.Equal(12, MetaPage.PageSizeOffset);
        Assert.Equal(16, MetaPage.TxnIdOffset);
        Assert.Equal(24, MetaPage.PageCountOffset);
        Assert.Equal(32, MetaPage.FreeMapPageOffset);
        Assert.Equal(40, MetaPage.FreeMapPagesOffset);
        Assert.Equal(48, MetaPage.MainTreeOffset);
        Assert.Equal(96, MetaPage.CatalogTreeOffset);
        Assert.Equal(144, MetaPage.ReservedOffset);
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

    // ---------------------------------------------------------------- limits

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

    [Fact]
    public void NodeLayout_IsInline_SwitchesToOverflowExactlyPastMaxEntrySize()
    {
        foreach (int ps in ValidPageSizes)
        {
            int maxEntry = Limits.MaxEntrySize(ps);
            int key = 10;
            int largestInline = maxEntry - NodeLayout.SlotSize - key - NodeLayout.ValueInfoSize;
            Assert.True(NodeLayout.IsInline(ps, key, largestInline));
            Assert.False(NodeLayout.IsInline(ps, key, largestInline + 1));
            Assert.Equal(key + NodeLayout.ValueInfoSize + 7, NodeLayout.InlineLeafEntrySize(key, 7));
        }
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

    // ---------------------------------------------------------------- page header accessors

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

    // ---------------------------------------------------------------- key hints

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
        var arb = Arb.From(gen);
        var property = Prop.ForAll(arb, arb, (a, b) =>
        {
            uint ha = NodeLayout.Hint(a), hb = NodeLayout.Hint(b);
            int cmp = a.AsSpan().SequenceCompareTo(b);
            if (ha < hb && cmp >= 0) return false;
            if (ha > hb && cmp <= 0) return false;
            if (cmp == 0 && ha != hb) return false;
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), property);
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

    // ---------------------------------------------------------------- node edits

    private const int NodePageSize = 4096;
    private const long NodePageId = 2;

    /// <summary>A buffer holding pages 0..2 so that <see cref="PageContext.Node"/> can view page 2.</summary>
    private sealed class NodeBuffer : IDisposable
    {
        private readonly byte* _mem;
        public readonly byte* Scratch;
        public NodeBuffer()
        {
            _mem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(4 * NodePageSize));
            Scratch = _mem + 3 * NodePageSize;
        }
        public PageContext Context => new(_mem, NodePageSize, 3);
        public byte* Page => _mem + NodePageId * NodePageSize;
        public Node Node => Context.Node(NodePageId, PageHeader.Kind(Page));
        public void Dispose() => System.Runtime.InteropServices.NativeMemory.Free(_mem);
    }

    private static byte[] LeafRaw(byte[] key, byte[] value)
    {
        var raw = new byte[key.Length + NodeLayout.ValueInfoSize + value.Length];
        key.CopyTo(raw, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(key.Length), (uint)value.Length);
        value.CopyTo(raw, key.Length + NodeLayout.ValueInfoSize);
        return raw;
    }

    private static List<string> KeysOf(NodeBuffer nb)
    {
        var node = nb.Node;
        var keys = new List<string>();
        for (int i = 0; i < node.Count; i++) keys.Add(Bytes.Str(node.KeyAt(i)));
        return keys;
    }

    private static void AssertNodeMatches(NodeBuffer nb, SortedDictionary<string, string> expected)
    {
        var node = nb.Node;
        Assert.Equal(expected.Count, node.Count);
        int i = 0;
        foreach (var (k, v) in expected)
        {
            Assert.Equal(k, Bytes.Str(node.KeyAt(i)));
            Assert.Equal(v, Bytes.Str(node.ValueAt(i, nb.Context)));
            Assert.Equal(NodeLayout.Hint(Bytes.Of(k)), node.HintAt(i));
            Assert.Equal(0L, node.OverflowPageAt(i, out uint len));
            Assert.Equal((uint)Bytes.Of(v).Length, len);
            Assert.Equal(i, node.LowerBound(Bytes.Of(k), NodeLayout.Hint(Bytes.Of(k)), 0, out bool exact));
            Assert.True(exact);
            i++;
        }
        int used = expected.Sum(e => NodeLayout.SlotSize + Bytes.Of(e.Key).Length + NodeLayout.ValueInfoSize + Bytes.Of(e.Value).Length);
        Assert.Equal(used, NodeWriter.UsedBytes(nb.Page, leaf: true));
    }

    [Fact]
    public void NodeWriter_Init_WritesAnEmptyNodeHeader()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 5, NodePageSize);
        Assert.Equal(PageKind.Leaf, PageHeader.Kind(nb.Page));
        Assert.Equal(0, PageHeader.Count(nb.Page));
        Assert.Equal((uint)NodePageSize, PageHeader.Upper(nb.Page));
        Assert.Equal(1u, PageHeader.RunPages(nb.Page));
        Assert.Equal(NodePageId, PageHeader.PageId(nb.Page));
        Assert.Equal(5, PageHeader.TxnId(nb.Page));
        Assert.Equal(NodePageSize - PageHeader.Size, NodeWriter.Capacity(NodePageSize));
    }

    [Fact]
    public void NodeWriter_TryInsertInRandomOrder_KeepsSlotsSortedAndKeysRetrievable()
    {
        int seed = Environment.TickCount;
        _output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var keys = Enumerable.Range(0, 60).Select(i => $"key{i:D3}").OrderBy(_ => rng.Next()).ToArray();
        foreach (string k in keys)
        {
            string v = new string('v', rng.Next(0, 20));
            byte[] kb = Bytes.Of(k);
            int at = expected.Count == 0 ? 0 : nb.Node.LowerBound(kb, NodeLayout.Hint(kb), 0, out _);
            Assert.True(NodeWriter.TryInsert(nb.Page, NodePageSize, true, at, LeafRaw(kb, Bytes.Of(v)), kb.Length, nb.Scratch), $"seed {seed}: insert {k}");
            expected[k] = v;
            AssertNodeMatches(nb, expected);
        }
        Assert.Equal(expected.Keys.ToList(), KeysOf(nb));
        // Upper is the start of a hole-free heap right after inserts.
        int heap = expected.Sum(e => e.Key.Length + NodeLayout.ValueInfoSize + e.Value.Length);
        Assert.Equal((uint)(NodePageSize - heap), PageHeader.Upper(nb.Page));
    }

    [Fact]
    public void NodeWriter_RemoveAt_ShiftsLaterSlotsAndKeepsOtherEntries()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < 10; i++)
        {
            string k = $"k{i}", v = $"value-{i}";
            NodeWriter.Append(nb.Page, LeafRaw(Bytes.Of(k), Bytes.Of(v)), k.Length);
            expected[k] = v;
        }
        AssertNodeMatches(nb, expected);
        uint upper = PageHeader.Upper(nb.Page);

        NodeWriter.RemoveAt(nb.Page, 0);          // first
        expected.Remove("k0");
        AssertNodeMatches(nb, expected);
        NodeWriter.RemoveAt(nb.Page, 4);          // middle: k5
        expected.Remove("k5");
        AssertNodeMatches(nb, expected);
        NodeWriter.RemoveAt(nb.Page, expected.Count - 1); // last: k9
        expected.Remove("k9");
        AssertNodeMatches(nb, expected);
        Assert.Equal(new[] { "k1", "k2", "k3", "k4", "k6", "k7", "k8" }, KeysOf(nb));
        // Removal leaves holes: the heap start does not move until a compaction.
        Assert.Equal(upper, PageHeader.Upper(nb.Page));
    }

    [Fact]
    public void NodeWriter_Compact_RemovesHolesAndKeepsSlotOrder()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < 40; i++)
        {
            string k = $"key{i:D2}", v = new string((char)('a' + i % 26), i);
            NodeWriter.Append(nb.Page, LeafRaw(Bytes.Of(k), Bytes.Of(v)), k.Length);
            expected[k] = v;
        }
        for (int i = 38; i >= 0; i -= 3)
        {
            expected.Remove(KeysOf(nb)[i]);
            NodeWriter.RemoveAt(nb.Page, i);
        }
        uint before = PageHeader.Upper(nb.Page);
        NodeWriter.Compact(nb.Page, NodePageSize, leaf: true, nb.Scratch);
        AssertNodeMatches(nb, expected);
        int heap = expected.Sum(e => e.Key.Length + NodeLayout.ValueInfoSize + e.Value.Length);
        Assert.Equal((uint)(NodePageSize - heap), PageHeader.Upper(nb.Page));
        Assert.True(PageHeader.Upper(nb.Page) > before, "compaction did not reclaim the holes");
        // Entries are packed in slot order from the end of the page: slot 0 sits highest.
        var node = nb.Node;
        for (int i = 1; i < node.Count; i++)
            Assert.True(Unsafe.ReadUnaligned<ushort>(nb.Page + PageHeader.Size + i * NodeLayout.SlotSize + NodeLayout.SlotEntryOffset)
                < Unsafe.ReadUnaligned<ushort>(nb.Page + PageHeader.Size + (i - 1) * NodeLayout.SlotSize + NodeLayout.SlotEntryOffset));
    }

    [Fact]
    public void NodeWriter_TryInsertOnFullPage_ReturnsFalseAndChangesNothing()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        var value = new byte[100];
        int n = 0;
        while (true)
        {
            byte[] k = Bytes.Of($"k{n:D4}");
            if (!NodeWriter.TryInsert(nb.Page, NodePageSize, true, n, LeafRaw(k, value), k.Length, nb.Scratch)) break;
            n++;
            Assert.True(n < 1000, "the page never filled up");
        }
        int entry = NodeLayout.SlotSize + 5 + NodeLayout.ValueInfoSize + 100;
        Assert.Equal((NodePageSize - PageHeader.Size) / entry, n);
        var snapshot = new ReadOnlySpan<byte>(nb.Page, NodePageSize).ToArray();
        byte[] extra = Bytes.Of("a");
        Assert.False(NodeWriter.TryInsert(nb.Page, NodePageSize, true, 0, LeafRaw(extra, value), extra.Length, nb.Scratch));
        Assert.True(snapshot.AsSpan().SequenceEqual(new ReadOnlySpan<byte>(nb.Page, NodePageSize)), "a failed insert modified the page");
    }

    [Fact]
    public void NodeWriter_TryInsertIntoFragmentedPage_CompactsAndSucceeds()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string big = new string('x', 300);
        int n = 0;
        while (true)
        {
            string k = $"k{n:D3}";
            if (!NodeWriter.TryInsert(nb.Page, NodePageSize, true, n, LeafRaw(Bytes.Of(k), Bytes.Of(big)), k.Length, nb.Scratch)) break;
            expected[k] = big;
            n++;
        }
        // Free a slot in the middle: the space exists, but only as a hole in the heap.
        string removed = KeysOf(nb)[n / 2];
        NodeWriter.RemoveAt(nb.Page, n / 2);
        expected.Remove(removed);
        string newKey = removed + "!"; // sorts right after the removed key, in the middle of the page
        string newValue = new string('y', 290);
        byte[] kb = Bytes.Of(newKey);
        int lower = PageHeader.Size + PageHeader.Count(nb.Page) * NodeLayout.SlotSize;
        int need = NodeLayout.SlotSize + kb.Length + NodeLayout.ValueInfoSize + newValue.Length;
        Assert.True((int)PageHeader.Upper(nb.Page) - lower < need, "test setup: the gap alone must be too small");
        Assert.True(NodeWriter.Capacity(NodePageSize) - NodeWriter.UsedBytes(nb.Page, true) >= need, "test setup: the holes must make room");
        int at = nb.Node.LowerBound(kb, NodeLayout.Hint(kb), 0, out bool exact);
        Assert.False(exact);
        Assert.True(NodeWriter.TryInsert(nb.Page, NodePageSize, true, at, LeafRaw(kb, Bytes.Of(newValue)), kb.Length, nb.Scratch));
        expected[newKey] = newValue;
        AssertNodeMatches(nb, expected);
    }

    [Fact]
    public void NodeWriter_BranchEntries_RoundTripChildIds()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Branch, NodePageId, 1, NodePageSize);
        // Entry 0 of a branch has the empty key (minus infinity).
        string[] keys = { "", "g", "p" };
        for (int i = 0; i < keys.Length; i++)
        {
            byte[] k = Bytes.Of(keys[i]);
            var raw = new byte[k.Length + NodeLayout.BranchTailSize];
            k.CopyTo(raw, 0);
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(k.Length), 100 + i);
            Assert.True(NodeWriter.TryInsert(nb.Page, NodePageSize, false, i, raw, k.Length, nb.Scratch));
        }
        var node = nb.Context.Node(NodePageId, PageKind.Branch);
        Assert.False(node.IsLeaf);
        for (int i = 0; i < keys.Length; i++)
        {
            Assert.Equal(keys[i], Bytes.Str(node.KeyAt(i)));
            Assert.Equal(100 + i, node.ChildAt(i));
            Assert.Equal(100 + i, NodeWriter.Child(nb.Page, i));
        }
        NodeWriter.SetChild(nb.Page, 1, 777);
        Assert.Equal(777, node.ChildAt(1));
        Assert.Equal(0, node.ChildIndex("a"u8, NodeLayout.Hint("a"u8)));
        Assert.Equal(1, node.ChildIndex("g"u8, NodeLayout.Hint("g"u8)));
        Assert.Equal(1, node.ChildIndex("h"u8, NodeLayout.Hint("h"u8)));
        Assert.Equal(2, node.ChildIndex("zz"u8, NodeLayout.Hint("zz"u8)));
        // Slots, plus keys "" "g" "p" each followed by a child id.
        Assert.Equal(3 * NodeLayout.SlotSize + (0 + 1 + 1) + 3 * NodeLayout.BranchTailSize, NodeWriter.UsedBytes(nb.Page, leaf: false));
    }

    [Fact]
    public void PageContext_Node_RejectsWrongKindOutOfRangeIdsAndBadHeaders()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        NodeWriter.Append(nb.Page, LeafRaw(Bytes.Of("k"), Bytes.Of("v")), 1);
        var ctx = nb.Context;
        _ = ctx.Node(NodePageId, PageKind.Leaf);
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(NodePageId, PageKind.Branch));
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(0, PageKind.Leaf));
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(1, PageKind.Leaf));
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(3, PageKind.Leaf));
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(-1, PageKind.Leaf));

        PageHeader.SetCount(nb.Page, 0);                       // an empty node is never written
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(NodePageId, PageKind.Leaf));
        PageHeader.SetCount(nb.Page, 1);
        PageHeader.SetUpper(nb.Page, NodePageSize + 1);        // heap starts past the page
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(NodePageId, PageKind.Leaf));
        PageHeader.SetUpper(nb.Page, NodePageSize - 6);
        PageHeader.SetCount(nb.Page, 600);                     // slot array runs into the heap
        Assert.Throws<CorruptDatabaseException>(() => ctx.Node(NodePageId, PageKind.Leaf));
    }

    [Fact]
    public void Node_KeyAtWithSlotPointingOutsideThePage_ThrowsCorruptDatabase()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Leaf, NodePageId, 1, NodePageSize);
        NodeWriter.Append(nb.Page, LeafRaw(Bytes.Of("key"), Bytes.Of("value")), 3);
        byte* slot = nb.Page + PageHeader.Size;
        Unsafe.WriteUnaligned(slot + NodeLayout.SlotKeyLengthOffset, (ushort)60000);
        var node = nb.Node;
        var e = Assert.Throws<CorruptDatabaseException>(() => { _ = node.KeyAt(0); });
        Assert.Equal(NodePageId, e.PageId);
        Unsafe.WriteUnaligned(slot + NodeLayout.SlotKeyLengthOffset, (ushort)3);
        Unsafe.WriteUnaligned(slot + NodeLayout.SlotEntryOffset, (ushort)40); // below the heap start
        Assert.Throws<CorruptDatabaseException>(() => { _ = node.KeyAt(0); });
    }

    // ---------------------------------------------------------------- checksum

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

    // ---------------------------------------------------------------- meta page

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
    [InlineData(2u)]
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

    // ---------------------------------------------------------------- tree descriptor

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

    // ---------------------------------------------------------------- free map

    [Fact]
    public void FreeMap_Sizes_FollowFromThePageSize()
    {
        Assert.Equal((4096 - 32) * 8, FreeMap.BitsPerPage(4096));
        Assert.Equal(0, FreeMap.BitmapsFor(4096, 0));
        Assert.Equal(1, FreeMap.BitmapsFor(4096, 2));
        Assert.Equal(1, FreeMap.BitmapsFor(4096, FreeMap.BitsPerPage(4096)));
        Assert.Equal(2, FreeMap.BitmapsFor(4096, FreeMap.BitsPerPage(4096) + 1));
        int perPage = (4096 - PageHeader.Size - FreeMap.CountSize) / FreeMap.IdSize;
        Assert.Equal(1, FreeMap.DirectoryPagesFor(4096, perPage));
        Assert.Equal(2, FreeMap.DirectoryPagesFor(4096, perPage + 1));
    }

    /// <summary>Bits set for a random set of pages read back as exactly the maximal runs of that set.</summary>
    [Fact]
    public void FreeMap_SetBitsThenReadFree_GivesMaximalRunsOfTheSet()
    {
        const int ps = 4096;
        int seed = Environment.TickCount;
        _output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        long bitsPer = FreeMap.BitsPerPage(ps);
        long pageCount = bitsPer + 5000; // two bitmap pages
        var mem = new byte[3 * ps];
        fixed (byte* b = mem)
        {
            var free = new SortedSet<long>();
            for (int i = 0; i < 3000; i++) free.Add(rng.NextInt64(2, pageCount));
            for (long i = 100; i < 140; i++) free.Add(i); // a long run
            free.Remove(7); // page 7 is set and cleared below
            FreeMap.InitBitmap(b, 0, 1, ps);
            FreeMap.InitBitmap(b + ps, 1, 1, ps);
            foreach (long id in free) FreeMap.SetBit(b + (id / bitsPer) * ps, id % bitsPer, true);
            FreeMap.SetBit(b, 7, true);
            FreeMap.SetBit(b, 7, false); // clearing works too
            PageHeader.SetChecksum(b, Checksum.OfPage(b, ps));
            PageHeader.SetChecksum(b + ps, Checksum.OfPage(b + ps, ps));
            // Pages 0 and 1 of this buffer are the two bitmaps; reach them through a context over a large "file".
            var ctx = new PageContext(b, ps, pageCount);
            var runs = new List<(long, long)>();
            FreeMap.ReadFree(ctx, new long[] { 0, 1 }, (s, l) => runs.Add((s, l)));
            var expected = new List<(long, long)>();
            foreach (long id in free)
            {
                if (expected.Count > 0 && expected[^1].Item1 + expected[^1].Item2 == id) expected[^1] = (expected[^1].Item1, expected[^1].Item2 + 1);
                else expected.Add((id, 1));
            }
            Assert.Equal(expected, runs);

            // A bit for a meta page, or one past the page count, is corruption.
            FreeMap.SetBit(b, 1, true);
            PageHeader.SetChecksum(b, Checksum.OfPage(b, ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadFree(ctx, new long[] { 0, 1 }, (_, _) => { }));
            FreeMap.SetBit(b, 1, false);
            PageHeader.SetChecksum(b, Checksum.OfPage(b, ps));
            var shorter = new PageContext(b, ps, bitsPer + 10);
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadFree(shorter, new long[] { 0, 1 }, (_, _) => { }));
            // A flipped bit fails the checksum.
            b[ps + 100] ^= 1;
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadFree(ctx, new long[] { 0, 1 }, (_, _) => { }));
        }
    }

    [Fact]
    public void FreeMap_Directory_RoundTripsAndRejectsBadHeaders()
    {
        const int ps = 4096;
        var mem = new byte[20 * ps];
        fixed (byte* b = mem)
        {
            var ctx = new PageContext(b, ps, 20);
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 9 }, ps);
            // Unsealed: the writer trusts the map, so a directory without its checksum is refused.
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), ps));
            Assert.Equal(new long[] { 9 }, FreeMap.ReadDirectory(ctx, 6, 1));
            Assert.Empty(FreeMap.ReadDirectory(ctx, 0, 0));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 2)); // run length differs
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 7, 1)); // not a directory
            // A bitmap id outside the file.
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 25 }, ps);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
            // The wrong number of bitmaps for the file's page count.
            FreeMap.WriteDirectory(ctx.Page(6), 6, 3, 1, new long[] { 9, 10 }, ps);
            PageHeader.SetChecksum(ctx.Page(6), Checksum.OfPage(ctx.Page(6), ps));
            Assert.Throws<CorruptDatabaseException>(() => FreeMap.ReadDirectory(ctx, 6, 1));
        }
    }
}
