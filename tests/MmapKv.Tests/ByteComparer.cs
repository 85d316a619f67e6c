namespace MmapKv.Tests;

/// <summary>Bytewise order, shorter first on a common prefix: the order MmapKv keeps keys in.</summary>
internal sealed class ByteComparer : IComparer<byte[]>
{
    public static readonly ByteComparer Instance = new();
    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}
