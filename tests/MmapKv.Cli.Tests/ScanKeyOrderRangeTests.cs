using System.Buffers.Binary;
using System.Globalization;

namespace MmapKv.Cli.Tests;

/// <summary><c>scan --from/--to/--prefix</c> on trees ordered other than bytewise: numbers on Int64 and UInt64
/// trees, bounds in the tree's order on Reverse trees, and usage errors for bounds that cannot be read.</summary>
public sealed class ScanKeyOrderRangeTests : IDisposable
{
    private static readonly long[] Ints = [long.MinValue, -1000, -5, -1, 0, 1, 7, 100, 101, long.MaxValue];
    private static readonly ulong[] UInts = [0, 1, 255, 256, 1UL << 63, ulong.MaxValue];
    private static readonly string[] Words = ["a", "ap", "apple", "apricot", "b", "banana", "blueberry", "cherry", "date"];

    private readonly TempDir _dir = new();
    private readonly string _db;

    public ScanKeyOrderRangeTests()
    {
        _db = _dir.File();
        using var db = KvDatabase.Open(_db);
        using var tx = db.BeginWrite();
        var ints = tx.OpenTree("ints", KeyOrder.Int64);
        foreach (long n in Ints) ints.Put(I64(n), "v"u8);
        var uints = tx.OpenTree("uints", KeyOrder.UInt64);
        foreach (ulong n in UInts)
        {
            var k = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(k, n);
            uints.Put(k, "v"u8);
        }
        var rev = tx.OpenTree("rev", KeyOrder.Reverse);
        foreach (string w in Words) rev.Put(Contents.B(w), "v"u8);
        var bytes = tx.OpenTree("revbytes", KeyOrder.Reverse);
        foreach (string hex in new[] { "00", "fe", "ff", "ff00", "ffff" }) bytes.Put(Convert.FromHexString(hex), "v"u8);
        tx.Commit();
    }

    public void Dispose() => _dir.Dispose();

    private static byte[] I64(long n)
    {
        var k = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(k, n);
        return k;
    }

    private string[] Keys(params string[] args) => Cli.Expect(0, ["scan", _db, "--keys-only", .. args]).OutLines;

    [Fact]
    public void Int64Tree_FromTo_AreNumbers_InNumericOrder()
    {
        // Bytewise, -5 (fb ff .. ff little-endian) would sort after 100: the range must be numeric.
        Assert.Equal(["-5", "-1", "0", "1", "7"], Keys("--tree", "ints", "--from", "-5", "--to", "100"));
        Assert.Equal(["7", "1", "0", "-1", "-5"], Keys("--tree", "ints", "--from", "-5", "--to", "100", "--reverse"));
        Assert.Equal(["-5", "-1"], Keys("--tree", "ints", "--from=-5", "--to=0"));
        Assert.Equal(["101", "9223372036854775807"], Keys("--tree", "ints", "--from", "101"));
        Assert.Equal(["-9223372036854775808"], Keys("--tree", "ints", "--to", "-1000"));
        Assert.Equal(["-1000", "-9223372036854775808"], Keys("--tree", "ints", "--to", "-999", "-r"));
        Assert.Equal(["9223372036854775807"], Keys("--tree", "ints", "--from", "9223372036854775807"));
        Assert.Empty(Keys("--tree", "ints", "--to", "-9223372036854775808"));
        Assert.Empty(Keys("--tree", "ints", "--from", "7", "--to", "7"));
        Assert.Equal(["-1\tv", "0\tv"], Cli.Expect(0, "scan", _db, "--tree", "ints", "--from", "-1", "--limit", "2").OutLines);
    }

    [Fact]
    public void UInt64Tree_FromTo_AreUnsignedNumbers()
    {
        Assert.Equal(["255", "256", "9223372036854775808"], Keys("--tree", "uints", "--from", "255", "--to", "18446744073709551615"));
        Assert.Equal(["18446744073709551615", "9223372036854775808"], Keys("--tree", "uints", "--from", "9223372036854775808", "-r"));
        Assert.Equal(["0", "1"], Keys("--tree", "uints", "--to", "255"));
    }

    [Theory]
    [InlineData("ints", "--from", "abc", "error: --from 'abc' is not a whole number from -9223372036854775808 to 9223372036854775807: tree 'ints' is ordered Int64, so its bounds are signed 64-bit integers")]
    [InlineData("ints", "--to", "9223372036854775808", "error: --to '9223372036854775808' is not a whole number from -9223372036854775808 to 9223372036854775807: tree 'ints' is ordered Int64, so its bounds are signed 64-bit integers")]
    [InlineData("ints", "--from", "1.5", "error: --from '1.5' is not a whole number")]
    [InlineData("ints", "--from", "", "error: --from '' is not a whole number")]
    [InlineData("uints", "--from", "-1", "error: --from '-1' is not a whole number from 0 to 18446744073709551615: tree 'uints' is ordered UInt64, so its bounds are unsigned 64-bit integers")]
    [InlineData("uints", "--to", "0x10", "error: --to '0x10' is not a whole number from 0 to 18446744073709551615")]
    [InlineData("ints", "--prefix", "1", "error: --prefix does not apply: tree 'ints' is ordered Int64, whose keys are numbers; give a range with --from and --to")]
    [InlineData("uints", "--prefix", "1", "error: --prefix does not apply: tree 'uints' is ordered UInt64")]
    public void UnreadableBound_IsAUsageErrorNamingWhy(string tree, string option, string text, string message)
    {
        var r = Cli.Expect(ExitCodes.Usage, "scan", _db, "--tree", tree, option, text);
        Assert.StartsWith(message, r.Err);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void ReverseTree_FromTo_FollowTheTreesOrder()
    {
        Assert.Equal(["date", "cherry", "blueberry", "banana", "b", "apricot", "apple", "ap", "a"], Keys("--tree", "rev"));
        Assert.Equal(["cherry", "blueberry", "banana"], Keys("--tree", "rev", "--from", "cherry", "--to", "b"));
        Assert.Equal(["banana", "blueberry", "cherry"], Keys("--tree", "rev", "--from", "cherry", "--to", "b", "--reverse"));
        Assert.Equal(["blueberry", "banana", "b", "apricot", "apple", "ap", "a"], Keys("--tree", "rev", "--from", "c"));
        Assert.Equal(["date", "cherry", "blueberry", "banana"], Keys("--tree", "rev", "--to", "b"));
        Assert.Equal(["banana", "blueberry", "cherry", "date"], Keys("--tree", "rev", "--to", "b", "-r"));
        Assert.Empty(Keys("--tree", "rev", "--from", "a", "--to", "d")); // a comes last in this order
        // The empty key sorts last: an empty --from admits nothing, an empty --to bounds nothing.
        Assert.Empty(Keys("--tree", "rev", "--from", ""));
        Assert.Equal(Words.Length, Keys("--tree", "rev", "--to", "").Length);
        // Bounds of a reverse tree are bytes in the --format.
        Assert.StartsWith("error: --from is not valid hex", Cli.Expect(ExitCodes.Usage, "scan", _db, "--tree", "rev", "--from", "zz", "--format", "hex").Err);
    }

    [Fact]
    public void ReverseTree_Prefix_ForwardAndBackward()
    {
        Assert.Equal(["apricot", "apple", "ap"], Keys("--tree", "rev", "--prefix", "ap"));
        Assert.Equal(["ap", "apple", "apricot"], Keys("--tree", "rev", "--prefix", "ap", "--reverse"));
        Assert.Equal(["blueberry", "banana", "b"], Keys("--tree", "rev", "--prefix", "b"));
        Assert.Equal(["b", "banana", "blueberry"], Keys("--tree", "rev", "--prefix", "b", "-r"));
        Assert.Empty(Keys("--tree", "rev", "--prefix", "z"));
        Assert.Empty(Keys("--tree", "rev", "--prefix", "z", "-r"));
        Assert.Equal(Words.Length, Keys("--tree", "rev", "--prefix", "").Length);
        // Prefixes of 0xFF bytes have no successor: their keys are the first of the tree.
        string[] hex = ["--tree", "revbytes", "--format", "hex"];
        Assert.Equal(["ffff", "ff00", "ff"], Keys([.. hex, "--prefix", "ff"]));
        Assert.Equal(["ff", "ff00", "ffff"], Keys([.. hex, "--prefix", "ff", "-r"]));
        Assert.Equal(["ffff"], Keys([.. hex, "--prefix", "ffff"]));
        Assert.Equal(["fe"], Keys([.. hex, "--prefix", "fe", "-r"]));
    }

    [Fact]
    public void ReverseTree_BoundsLongerThanAnyKey()
    {
        string[] hex = ["--tree", "rev", "--format", "hex"];
        string longB = "62" + string.Concat(Enumerable.Repeat("00", 1000)); // "b" then 1000 zero bytes: above "b", below "banana"
        string[] Decoded(string[] keys) => keys.Select(k => System.Text.Encoding.UTF8.GetString(Convert.FromHexString(k))).ToArray();
        Assert.Equal(["b", "apricot", "apple", "ap", "a"], Decoded(Keys([.. hex, "--from", longB])));
        Assert.Equal(["a", "ap", "apple", "apricot", "b"], Decoded(Keys([.. hex, "--from", longB, "-r"])));
        Assert.Equal(["date", "cherry", "blueberry", "banana"], Decoded(Keys([.. hex, "--to", longB])));
        Assert.Equal(["banana", "blueberry", "cherry", "date"], Decoded(Keys([.. hex, "--to", longB, "-r"])));
        Assert.Empty(Keys([.. hex, "--prefix", longB]));
        Assert.Empty(Keys([.. hex, "--prefix", longB, "-r"]));
    }

    [Fact]
    public void RandomRanges_MatchTheTreesOrder_ReverseAndInt64()
    {
        var rng = new Random(11);
        string path = _dir.File("random.mkv");
        var words = new SortedSet<string>(StringComparer.Ordinal);
        var numbers = new SortedSet<long>();
        while (words.Count < 60) words.Add(new string(Enumerable.Range(0, rng.Next(1, 5)).Select(_ => "abc"[rng.Next(3)]).ToArray()));
        while (numbers.Count < 60) numbers.Add(rng.Next(-50, 50));
        using (var db = KvDatabase.Open(path))
        using (var tx = db.BeginWrite())
        {
            var rev = tx.OpenTree("rev", KeyOrder.Reverse);
            foreach (string w in words) rev.Put(Contents.B(w), "v"u8);
            var ints = tx.OpenTree("ints", KeyOrder.Int64);
            foreach (long n in numbers) ints.Put(I64(n), "v"u8);
            tx.Commit();
        }
        string[] descending = words.Reverse().ToArray(); // ASCII: ordinal string order is bytewise
        for (int i = 0; i < 40; i++)
        {
            string a = RandomWord(rng), b = RandomWord(rng);
            bool back = rng.Next(2) == 0;
            string[] expected = descending.Where(w => string.CompareOrdinal(w, a) <= 0 && string.CompareOrdinal(w, b) > 0).ToArray();
            string[] args = ["scan", path, "--tree", "rev", "-k", "--from", a, "--to", b, .. back ? new[] { "-r" } : []];
            Assert.Equal(back ? expected.Reverse().ToArray() : expected, Cli.Expect(0, args).OutLines);
            string p = RandomWord(rng);
            expected = descending.Where(w => w.StartsWith(p, StringComparison.Ordinal)).ToArray();
            args = ["scan", path, "--tree", "rev", "-k", "--prefix", p, .. back ? new[] { "-r" } : []];
            Assert.Equal(back ? expected.Reverse().ToArray() : expected, Cli.Expect(0, args).OutLines);
            long lo = rng.Next(-60, 60), hi = rng.Next(-60, 60);
            string[] nums = numbers.Where(n => n >= lo && n < hi).Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray();
            args = ["scan", path, "--tree", "ints", "-k", $"--from={lo}", $"--to={hi}", .. back ? new[] { "-r" } : []];
            Assert.Equal(back ? nums.Reverse().ToArray() : nums, Cli.Expect(0, args).OutLines);
        }

        static string RandomWord(Random rng) => new(Enumerable.Range(0, rng.Next(1, 4)).Select(_ => "abcd"[rng.Next(4)]).ToArray());
    }
}
