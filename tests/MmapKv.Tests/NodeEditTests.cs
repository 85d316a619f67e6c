using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// In-place node edits (NodeWriter) and the checks PageContext and Node make on a node page.
/// </summary>
public unsafe class NodeEditTests
{
    private readonly ITestOutputHelper _output;

    public NodeEditTests(ITestOutputHelper output) => _output = output;

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

    /// <summary>
    /// TryChildAt, the child id a scan's prefetch hint reads: the same id as ChildAt where that succeeds, and false
    /// (never an exception) for an index outside the node or a slot that points outside the page.
    /// </summary>
    [Fact]
    public void TryChildAt_AgreesWithChildAt_AndRefusesWithoutThrowing()
    {
        using var nb = new NodeBuffer();
        NodeWriter.Init(nb.Page, PageKind.Branch, NodePageId, 1, NodePageSize);
        for (int i = 0; i < 3; i++)
        {
            var raw = new byte[1 + NodeLayout.BranchTailSize];
            raw[0] = (byte)('a' + i);
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(1), 100 + i);
            Assert.True(NodeWriter.TryInsert(nb.Page, NodePageSize, false, i, raw, 1, nb.Scratch));
        }
        var node = nb.Context.Node(NodePageId, PageKind.Branch);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(node.TryChildAt(i, out long child));
            Assert.Equal(node.ChildAt(i), child);
        }
        Assert.False(node.TryChildAt(-1, out _));
        Assert.False(node.TryChildAt(3, out _));
        SlotArray.SetEntryOffset(SlotArray.At(nb.Page, 1), NodePageSize - 2); // its child id would end past the page
        Assert.False(node.TryChildAt(1, out _));
        Assert.Throws<CorruptDatabaseException>(() => node.ChildAt(1));
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
}
