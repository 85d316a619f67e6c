using System.Buffers.Binary;
using System.Text;
using MmapKv.Format;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// A damaged lock file (docs/format.md §12.4, docs/security.md "A corrupt lock file"): rebuilt by an opener that has
/// the database to itself, refused with <see cref="CorruptDatabaseException"/> naming it while another process holds
/// it. The holder is a real process (MmapKv.CrashChild --hold-reader): the damage lands in its map too, and a
/// truncation under a map makes a process that touches the lost pages die of SIGBUS, which must not be this test's
/// process. (A second <see cref="KvDatabase"/> in this process would be an equivalent holder for the locks, since
/// each open of the lock file is its own holder, docs/format.md §12.1; only the map is the reason for a process.)
/// </summary>
public class LockFileDamageTests(ITestOutputHelper output)
{
    private static readonly KvOptions NoTimer = new()
    {
        DeferredFlushInterval = TimeSpan.Zero,
        MaxSize = long.TryParse(Environment.GetEnvironmentVariable("MMAPKV_TEST_MAX_SIZE"), out long max) ? max : 256L << 30,
    };

    /// <summary>The damages, each as the file is changed in place (never replaced: a holder keeps its open file).</summary>
    public static TheoryData<string> Damages => ["garbage", "zeroed", "truncated-100", "truncated-0", "wrong-version", "wrong-slot-size"];

    private static void Damage(string lockPath, string how)
    {
        using var f = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        switch (how)
        {
            case "garbage":
                var bytes = new byte[f.Length];
                new Random(42).NextBytes(bytes);
                f.Write(bytes);
                break;
            case "zeroed":
                f.Write(new byte[f.Length]);
                break;
            case "truncated-100":
                f.SetLength(100);
                break;
            case "truncated-0":
                f.SetLength(0);
                break;
            case "wrong-version":
                f.Position = 8; // docs/format.md §12.1
                f.Write(BitConverter.GetBytes(LockFileLayout.FileVersion + 1));
                break;
            case "wrong-slot-size":
                f.Position = 20;
                f.Write(BitConverter.GetBytes(128u));
                break;
            default:
                throw new ArgumentException(how);
        }
        f.Flush(flushToDisk: false);
    }

    private static string MakeDatabase(TempDir dir)
    {
        string path = dir.File();
        using var db = KvDatabase.Open(path, NoTimer);
        using var tx = db.BeginWrite();
        for (int i = 0; i < 2000; i++) tx.Put(Encoding.UTF8.GetBytes($"k{i:D5}"), Encoding.UTF8.GetBytes($"value {i}"));
        tx.Commit();
        return path;
    }

    private static void AssertIntact(KvDatabase db)
    {
        using (var tx = db.BeginRead())
        {
            for (int i = 0; i < 2000; i += 97)
            {
                Assert.True(tx.TryGet(Encoding.UTF8.GetBytes($"k{i:D5}"), out var v));
                Assert.Equal($"value {i}", Encoding.UTF8.GetString(v));
            }
            Assert.True(tx.TryGet("k01999"u8, out _));
        }
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    /// <summary>The header a freshly built lock file has (docs/format.md §12.1).</summary>
    private static void AssertBuilt(string lockPath)
    {
        // Read beside the open database's own handle: on Windows File.ReadAllBytes (FileShare.Read) is refused while
        // another handle may write.
        using var f = new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        byte[] header = new byte[f.Length];
        f.ReadExactly(header);
        Assert.True(header.Length >= 4096 + 64, $"the lock file is {header.Length} bytes");
        Assert.Equal("MmapKvLk", Encoding.ASCII.GetString(header, 0, 8));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8))); // docs/format.md §12.1
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(20)));
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void DamagedLockFile_WithNoOtherOpener_IsRebuilt(string how)
    {
        using var dir = new TempDir();
        string path = MakeDatabase(dir);
        string lockPath = path + "-lock";
        Damage(lockPath, how);
        using (var db = KvDatabase.Open(path, NoTimer))
        {
            AssertBuilt(lockPath);
            AssertIntact(db);
            // The rebuilt file carries a second opener and commits between the two.
            using var other = KvDatabase.Open(path, NoTimer);
            using (var tx = db.BeginWrite())
            {
                tx.Put("after"u8, "1"u8);
                tx.Commit();
            }
            using (var r = other.BeginRead()) Assert.True(r.TryGet("after"u8, out _));
            AssertIntact(other);
        }
        using var again = KvDatabase.Open(path, NoTimer with { ReadOnly = true });
        AssertIntact(again);
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void DamagedLockFile_WhileAnotherProcessHoldsIt_IsRefused_ThenRebuiltOnceItHasGone(string how)
    {
        using var dir = new TempDir();
        string path = MakeDatabase(dir);
        string lockPath = path + "-lock";
        using (var holder = new MultiProcessTests.Child("--hold-reader", path))
        {
            holder.WaitFor("ACK reading");
            try { Damage(lockPath, how); }
            catch (IOException refused) when (OperatingSystem.IsWindows() && how.StartsWith("truncated", StringComparison.Ordinal))
            {
                // Windows refuses to cut a file that a process has mapped: the damage cannot happen there.
                output.WriteLine($"{how}: refused by the OS ({refused.Message})");
                holder.Kill();
                return;
            }
            var e = Assert.Throws<CorruptDatabaseException>(() => KvDatabase.Open(path, NoTimer));
            output.WriteLine($"{how}: {e.Message}");
            Assert.Contains(lockPath, e.Message);
            Assert.Contains("another process holds it", e.Message);
            holder.Kill();
        }
        using var db = KvDatabase.Open(path, NoTimer);
        AssertBuilt(lockPath);
        AssertIntact(db);
    }
}
