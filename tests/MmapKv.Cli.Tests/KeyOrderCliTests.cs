using System.Buffers.Binary;
using Xunit;

namespace MmapKv.Cli.Tests;

/// <summary>The CLI and key orders: <c>trees --order</c>, integer keys printed as numbers, and the trees it cannot order.</summary>
public sealed class KeyOrderCliTests : IDisposable
{
    private sealed class Odd : IKeyComparer
    {
        public string Name => "cli-tests.odd/1";
        public int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => b.SequenceCompareTo(a);
    }

    private readonly TempDir _dir = new();
    private readonly string _db;

    public KeyOrderCliTests()
    {
        _db = _dir.File();
        using var db = KvDatabase.Open(_db);
        using var tx = db.BeginWrite();
        var n = tx.OpenTree("ints", KeyOrder.Int64);
        foreach (long v in new[] { 7L, -3L, 1000L })
        {
            var k = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(k, v);
            n.Put(k, "v"u8);
        }
        var u = tx.OpenTree("uints", KeyOrder.UInt64);
        var max = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(max, ulong.MaxValue);
        u.Put(max, "m"u8);
        tx.OpenTree("plain").Put("a"u8, "A"u8);
        tx.OpenTree("rev", KeyOrder.Reverse).Put("a"u8, "A"u8);
        tx.OpenTree("odd", new Odd()).Put("a"u8, "A"u8);
        tx.Commit();
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Trees_Order_AddsAColumn_DefaultOutputUnchanged()
    {
        Assert.Equal(new[] { "ints", "odd", "plain", "rev", "uints" }, Cli.Expect(0, "trees", _db).OutLines);
        Assert.Equal(new[] { "ints\tInt64", "odd\tCustom", "plain\tBytewise", "rev\tReverse", "uints\tUInt64" },
            Cli.Expect(0, "trees", _db, "--order").OutLines);
        Assert.Equal(new[] { "ints\t3\tInt64", "odd\t1\tCustom", "plain\t1\tBytewise", "rev\t1\tReverse", "uints\t1\tUInt64" },
            Cli.Expect(0, "trees", _db, "--count", "--order").OutLines);
    }

    [Fact]
    public void Scan_IntegerTree_PrintsNumbersInNumericOrder()
    {
        Assert.Equal(new[] { "-3\tv", "7\tv", "1000\tv" }, Cli.Expect(0, "scan", _db, "--tree", "ints").OutLines);
        Assert.Equal(new[] { "1000", "7", "-3" }, Cli.Expect(0, "scan", _db, "--tree", "ints", "--keys-only", "--reverse").OutLines);
        Assert.Equal(new[] { "18446744073709551615\tm" }, Cli.Expect(0, "scan", _db, "--tree", "uints").OutLines);
    }

    [Fact]
    public void Scan_CustomTree_IsAUsageError_WithOrWithoutRange()
    {
        Assert.Contains("cannot order it", Cli.Expect(ExitCodes.Usage, "scan", _db, "--tree", "odd").Err);
        Assert.Contains("cannot order it", Cli.Expect(ExitCodes.Usage, "scan", _db, "--tree", "odd", "--from", "a").Err);
    }
}
