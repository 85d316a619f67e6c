using System.Diagnostics;
using System.Net.Sockets;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Opening something that is not a database file gives an error that names the real cause and the user's path,
/// in the BCL type a .NET caller expects, never <see cref="StorageFailedException"/> (which means a write-back
/// failed). All on real files, directories, devices, FIFOs and sockets.
/// </summary>
public class OpenPathTests(ITestOutputHelper output)
{
    private static readonly KvOptions ReadOnly = new() { ReadOnly = true };

    /// <summary>Runs an open that must fail quickly; a hang (the FIFO regression) fails the test instead of the run.</summary>
    private static Exception OpenFails(string path, KvOptions? options, Action? unblock = null)
    {
        var open = Task.Run(() => KvDatabase.Open(path, options).Dispose());
        if (Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10))).Result != open)
        {
            unblock?.Invoke(); // release the blocked open(2) so the thread does not outlive the test
            Assert.Fail($"KvDatabase.Open({path}) did not return within 10 s");
        }
        Assert.True(open.IsFaulted, $"KvDatabase.Open({path}) succeeded");
        var e = open.Exception!.InnerException!;
        Assert.IsNotType<StorageFailedException>(e);
        return e;
    }

    private static void AssertNotRegular(Exception e, string path, string what)
    {
        Assert.IsType<IOException>(e);
        Assert.Contains(path, e.Message);
        Assert.Contains(what, e.Message);
        Assert.Contains("must be a regular file", e.Message);
    }

    private static void MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", path) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Open_Fifo_IsRefusedAtOnce(bool readOnly)
    {
        using var dir = new TempDir();
        string fifo = dir.File("pipe.mkv");
        MakeFifo(fifo);
        // A read-only open(2) of a FIFO without O_NONBLOCK waits for a writer: open one to release it.
        var e = OpenFails(fifo, readOnly ? ReadOnly : null, () => new FileStream(fifo, FileMode.Open, FileAccess.Write).Dispose());
        AssertNotRegular(e, fifo, "a FIFO");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Open_Directory_SaysItIsADirectory(bool readOnly)
    {
        using var dir = new TempDir();
        string sub = dir.File("db.mkv");
        Directory.CreateDirectory(sub);
        var e = OpenFails(sub, readOnly ? ReadOnly : null);
        AssertNotRegular(e, sub, "a directory");
        // Nothing was created beside it (no temporary file left behind by an attempted create).
        Assert.Equal(new[] { sub }, Directory.GetFileSystemEntries(dir.Path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Open_DevNull_SaysItIsADevice(bool readOnly)
    {
        var e = OpenFails("/dev/null", readOnly ? ReadOnly : null);
        AssertNotRegular(e, "/dev/null", "a character device");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Open_UnixSocket_SaysItIsASocket(bool readOnly)
    {
        using var dir = new TempDir();
        string path = dir.File("sock.mkv");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        var e = OpenFails(path, readOnly ? ReadOnly : null);
        AssertNotRegular(e, path, "a socket");
    }

    [Fact]
    public void Open_MissingDirectory_ThrowsDirectoryNotFoundNamingTheUsersPath()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "nope", "x", "app.mkv");
        var e = OpenFails(path, null);
        Assert.IsType<DirectoryNotFoundException>(e);
        Assert.Contains(path, e.Message);
        Assert.Contains(Path.Combine(dir.Path, "nope", "x"), e.Message);
        Assert.DoesNotContain(".creating-", e.Message);
    }

    [Fact]
    public void Open_ReadOnlyMissingFile_ThrowsFileNotFoundNamingTheUsersPath()
    {
        using var dir = new TempDir();
        foreach (string path in new[] { dir.File("missing.mkv"), Path.Combine(dir.Path, "nope", "missing.mkv") })
        {
            var e = Assert.IsType<FileNotFoundException>(OpenFails(path, ReadOnly));
            Assert.Equal(path, e.FileName);
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void Open_PathThroughAFile_ThrowsDirectoryNotFound()
    {
        using var dir = new TempDir();
        string file = dir.File("plain");
        File.WriteAllText(file, "x");
        var e = OpenFails(Path.Combine(file, "app.mkv"), null);
        Assert.IsType<DirectoryNotFoundException>(e);
        Assert.Contains(Path.Combine(file, "app.mkv"), e.Message);
    }

    /// <summary>A read-write open on a read-only file system says so and points at ReadOnly; a read-only open works.</summary>
    [Fact]
    public void Open_ReadWriteOnReadOnlyFileSystem_SaysSoAndSuggestsReadOnly()
    {
        using var fs = MountedFileSystem.TryMount("tmpfs", 4 << 20, output);
        if (fs is null) return;
        string existing = Path.Combine(fs.Path, "app.mkv");
        using (var db = KvDatabase.Open(existing))
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "v"u8);
            tx.Commit();
        }
        Assert.Null(fs.RemountReadOnly());
        foreach (string path in new[] { existing, Path.Combine(fs.Path, "new.mkv") })
        {
            var e = OpenFails(path, null);
            Assert.IsType<IOException>(e);
            Assert.Contains(path, e.Message);
            Assert.Contains("read-only file system", e.Message);
            Assert.Contains("ReadOnly = true", e.Message);
        }
        using (var db = KvDatabase.Open(existing, ReadOnly))
        using (var tx = db.BeginRead())
            Assert.True(tx.TryGet("k"u8, out _));
    }
}
