using System.Buffers.Binary;
using System.Text;
using MmapKv.Format;

namespace MmapKv.BTree;

/// <summary>
/// The comparison of a tree whose order is not <see cref="KeyOrder.Bytewise"/> (docs/design.md §16). A descriptor
/// of a bytewise tree holds none (null), so the default order keeps its hint-driven search untouched; every other
/// order compares whole keys through this class.
/// </summary>
internal abstract class KeyComparer
{
    public static readonly KeyComparer Reverse = new ReverseOrder();
    public static readonly KeyComparer Int64 = new Int64Order();
    public static readonly KeyComparer UInt64 = new UInt64Order();

    public abstract KeyOrder Order { get; }

    public abstract int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b);

    /// <summary>Throws <see cref="ArgumentException"/> for a key this order cannot hold.</summary>
    public virtual void CheckKey(ReadOnlySpan<byte> key) { }

    /// <summary>How the order is named in messages: the order, and for a custom one its comparer.</summary>
    public virtual string Describe() => Order.ToString();

    /// <summary>The comparer of the order that <paramref name="flags"/> store: null for bytewise, an unbound
    /// placeholder for a custom order (bound when the tree is opened with its comparer), null for an unknown code
    /// (<see cref="TreeDescriptor.Validate"/> refuses those).</summary>
    public static KeyComparer? ForFlags(uint flags) => TreeDescriptor.KeyOrderCode(flags) switch
    {
        TreeDescriptor.OrderReverse => Reverse,
        TreeDescriptor.OrderInt64 => Int64,
        TreeDescriptor.OrderUInt64 => UInt64,
        TreeDescriptor.OrderCustom => new UnboundCustom(TreeDescriptor.CustomNameHash(flags)),
        _ => null,
    };

    /// <summary>The comparer for <paramref name="order"/>, a built-in order.</summary>
    public static KeyComparer? ForOrder(KeyOrder order) => order switch
    {
        KeyOrder.Bytewise => null,
        KeyOrder.Reverse => Reverse,
        KeyOrder.Int64 => Int64,
        KeyOrder.UInt64 => UInt64,
        KeyOrder.Custom => throw new ArgumentException("A custom key order is given by its comparer: use OpenTree(name, IKeyComparer).", nameof(order)),
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, "Not a key order."),
    };

    /// <summary>The 16-bit hash of a comparer's name stored with a custom order: CRC-32C of its UTF-8, folded.</summary>
    public static ushort NameHash(string name)
    {
        uint crc = Checksum.Compute(Encoding.UTF8.GetBytes(name));
        return (ushort)(crc ^ (crc >> 16));
    }

    private sealed class ReverseOrder : KeyComparer
    {
        public override KeyOrder Order => KeyOrder.Reverse;
        public override int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => b.SequenceCompareTo(a);
    }

    private abstract class EightByteOrder : KeyComparer
    {
        public override void CheckKey(ReadOnlySpan<byte> key)
        {
            if (key.Length != sizeof(long))
                throw new ArgumentException($"A key of a tree ordered {Order} is exactly 8 bytes (the integer, little-endian); this one is {key.Length} bytes.", nameof(key));
        }

        // Keys that are not 8 bytes can only come from a damaged page; they sort by length, then bytewise, so the
        // comparison stays a total order and the checker reports them through the key-length rule.
        protected static int Fallback(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
            a.Length != b.Length ? a.Length.CompareTo(b.Length) : a.SequenceCompareTo(b);
    }

    private sealed class Int64Order : EightByteOrder
    {
        public override KeyOrder Order => KeyOrder.Int64;
        public override int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
            a.Length == 8 && b.Length == 8
                ? BinaryPrimitives.ReadInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadInt64LittleEndian(b))
                : Fallback(a, b);
    }

    private sealed class UInt64Order : EightByteOrder
    {
        public override KeyOrder Order => KeyOrder.UInt64;
        public override int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
            a.Length == 8 && b.Length == 8
                ? BinaryPrimitives.ReadUInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadUInt64LittleEndian(b))
                : Fallback(a, b);
    }

    /// <summary>A custom order bound to the application's comparer.</summary>
    public sealed class Custom(IKeyComparer comparer) : KeyComparer
    {
        public IKeyComparer Comparer { get; } = comparer;
        public override KeyOrder Order => KeyOrder.Custom;
        public override int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => Comparer.Compare(a, b);
        public override string Describe() => $"Custom ('{Comparer.Name}')";
    }

    /// <summary>A custom order read from a descriptor, before its tree was opened with the comparer: any
    /// comparison throws, naming the remedy.</summary>
    public sealed class UnboundCustom(ushort nameHash) : KeyComparer
    {
        public ushort StoredHash { get; } = nameHash;
        public override KeyOrder Order => KeyOrder.Custom;
        public override int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => throw Unbound();
        public override void CheckKey(ReadOnlySpan<byte> key) => throw Unbound();
        private static InvalidOperationException Unbound() => new(
            "The tree orders its keys with a custom comparer; open it with OpenTree(name, comparer) to read or write it.");
        public override string Describe() => $"Custom (comparer name hash 0x{StoredHash:x4})";
    }
}
