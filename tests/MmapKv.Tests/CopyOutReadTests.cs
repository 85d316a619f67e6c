using System.Buffers;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The copying lookups: TryGet into a span (false only when absent; a short destination is an ArgumentException
/// naming the value's length), TryGet into an IBufferWriter, and Get (a copy, or null), on read and write
/// transactions and named trees, for empty, inline and overflow values.
/// </summary>
public class CopyOutReadTests
{
    private static readonly byte[] Large = MakeValue(10_000, 3); // an overflow value

    private static byte[] MakeValue(int length, int seed)
    {
        var v = new byte[length];
        new Random(seed).NextBytes(v);
        return v;
    }

    private static KvDatabase OpenFilled(TempDir dir)
    {
        var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        tx.Put("small"u8, "hello"u8);
        tx.Put("empty"u8, ReadOnlySpan<byte>.Empty);
        tx.Put("large"u8, Large);
        tx.OpenTree("t").Put("small"u8, "named"u8);
        tx.Commit();
        return db;
    }

    [Fact]
    public void TryGetIntoSpan_CopiesAndReportsTheLength_OrFalseWhenAbsent()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        Span<byte> buf = stackalloc byte[16];
        buf.Fill(0xEE);
        Assert.True(r.TryGet("small"u8, buf, out int n));
        Assert.Equal(5, n);
        Assert.Equal("hello", Bytes.Str(buf[..n]));
        Assert.Equal(0xEE, buf[5]); // nothing past the value is touched

        Assert.True(r.TryGet("empty"u8, buf, out n));
        Assert.Equal(0, n);
        Assert.True(r.TryGet("empty"u8, Span<byte>.Empty, out n)); // an empty value fits an empty destination

        n = 99;
        Assert.False(r.TryGet("absent"u8, buf, out n));
        Assert.Equal(0, n);

        var big = new byte[Large.Length];
        Assert.True(r.TryGet("large"u8, big, out n));
        Assert.Equal(Large.Length, n);
        Assert.Equal(Large, big);

        Assert.True(r.OpenTree("t").TryGet("small"u8, buf, out n));
        Assert.Equal("named", Bytes.Str(buf[..n]));
    }

    [Fact]
    public void TryGetIntoSpan_DestinationTooShort_ThrowsArgumentExceptionNamingTheLength_AndWritesNothing()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        var buf = new byte[4];
        var e = Assert.Throws<ArgumentException>(() => r.TryGet("small"u8, buf, out _));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("5 bytes", e.Message);
        Assert.All(buf, b => Assert.Equal(0, b));
        var e2 = Assert.Throws<ArgumentException>(() => r.TryGet("large"u8, new byte[Large.Length - 1], out _));
        Assert.Contains($"{Large.Length} bytes", e2.Message);
        // The transaction is still usable.
        Assert.True(r.TryGet("small"u8, new byte[5], out int n));
        Assert.Equal(5, n);
    }

    [Fact]
    public void TryGetIntoBufferWriter_AppendsTheValue_OrNothingWhenAbsent()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var r = db.BeginRead();
        var w = new ArrayBufferWriter<byte>();
        w.Write("pre:"u8);
        Assert.True(r.TryGet("small"u8, w));
        Assert.Equal("pre:hello", Bytes.Str(w.WrittenSpan));
        Assert.False(r.TryGet("absent"u8, w));
        Assert.True(r.TryGet("empty"u8, w));
        Assert.Equal(9, w.WrittenCount);
        Assert.True(r.TryGet("large"u8, w));
        Assert.True(w.WrittenSpan[9..].SequenceEqual(Large));
        var named = new ArrayBufferWriter<byte>();
        Assert.True(r.OpenTree("t").TryGet("small"u8, named));
        Assert.Equal("named", Bytes.Str(named.WrittenSpan));
        Assert.Throws<ArgumentNullException>(() => r.TryGet("small"u8, (IBufferWriter<byte>)null!));
    }

    [Fact]
    public void Get_ReturnsACopyOrNull()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        byte[]? copy;
        using (var r = db.BeginRead())
        {
            copy = r.Get("large"u8);
            Assert.Equal(Large, copy);
            Assert.Null(r.Get("absent"u8));
            Assert.Equal(Array.Empty<byte>(), r.Get("empty"u8));
            Assert.Equal("named", Bytes.Str(r.OpenTree("t").Get("small"u8)));
        }
        // A copy: still intact after the transaction ended and the pages were rewritten.
        using (var w = db.BeginWrite()) { w.Put("large"u8, "x"u8); w.Commit(); }
        Assert.Equal(Large, copy);
    }

    [Fact]
    public void WriteTransaction_CopiesSeeItsOwnUncommittedWrites()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        using var tx = db.BeginWrite();
        tx.Put("small"u8, "changed"u8);
        tx.OpenTree("t").Put("new"u8, "n"u8);
        Assert.Equal("changed", Bytes.Str(tx.Get("small"u8)));
        var buf = new byte[16];
        Assert.True(tx.TryGet("small"u8, buf, out int n));
        Assert.Equal("changed", Bytes.Str(buf.AsSpan(0, n)));
        var w = new ArrayBufferWriter<byte>();
        Assert.True(tx.OpenTree("t").TryGet("new"u8, w));
        Assert.Equal("n", Bytes.Str(w.WrittenSpan));
        Assert.True(tx.Delete("small"u8));
        Assert.Null(tx.Get("small"u8));
    }

    [Fact]
    public void BadKeysAndEndedTransactions_ThrowTheUsualErrors()
    {
        using var dir = new TempDir();
        using var db = OpenFilled(dir);
        var r = db.BeginRead();
        var tree = r.OpenTree("t");
        Assert.Throws<ArgumentException>(() => r.Get(ReadOnlySpan<byte>.Empty));
        Assert.Throws<ArgumentException>(() => r.TryGet(new byte[db.MaxKeySize + 1], new byte[1], out _));
        r.Dispose();
        Assert.Throws<ObjectDisposedException>(() => r.Get("small"u8));
        Assert.Throws<ObjectDisposedException>(() => r.TryGet("small"u8, new byte[8], out _));
        Assert.Throws<ObjectDisposedException>(() => r.TryGet("small"u8, new ArrayBufferWriter<byte>()));
        Assert.Throws<ObjectDisposedException>(() => tree.Get("small"u8));
        using var r2 = db.BeginRead(); // reuses the state: the old handle stays dead (L5)
        Assert.Throws<ObjectDisposedException>(() => r.Get("small"u8));
        Assert.Equal("hello", Bytes.Str(r2.Get("small"u8)));

        var w = db.BeginWrite();
        w.Dispose();
        Assert.Throws<ObjectDisposedException>(() => w.Get("small"u8));
        Assert.Throws<ObjectDisposedException>(() => w.TryGet("small"u8, new byte[8], out _));
        Assert.Throws<InvalidOperationException>(() => default(ReadTransaction).Get("small"u8));
    }
}
