using System.Diagnostics;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// A small real file system mounted for one test (a tmpfs of a fixed size, or an ext4 image on a loop device),
/// unmounted and removed on dispose. Mounting needs root (or CAP_SYS_ADMIN); where it is refused,
/// <see cref="TryMount"/> prints why and returns null, and the test returns without asserting. The project has
/// no skip package (xunit v2 has no dynamic skip), so this is the convention: the output says it did not run.
/// </summary>
public sealed class MountedFileSystem : IDisposable
{
    private readonly string? _image;
    private bool _mounted;

    public string Path { get; }
    public string Kind { get; }

    private MountedFileSystem(string path, string kind, string? image)
    {
        Path = path;
        Kind = kind;
        _image = image;
    }

    /// <summary>Free bytes an unprivileged writer could still allocate (statvfs f_bavail × f_frsize).</summary>
    public long Available => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Mounts a <paramref name="kind"/> ("tmpfs" or "ext4") file system of <paramref name="bytes"/> bytes, or returns null and says why.</summary>
    public static MountedFileSystem? TryMount(string kind, long bytes, ITestOutputHelper output)
    {
        if (!OperatingSystem.IsLinux())
        {
            output.WriteLine($"NOT RUN: mounting a {kind} test file system is implemented for Linux only.");
            return null;
        }
        string root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mmapkv-mnt-" + Guid.NewGuid().ToString("N"));
        string dir = System.IO.Path.Combine(root, "fs");
        Directory.CreateDirectory(dir);
        string? image = null;
        string? failure;
        if (kind == "tmpfs")
        {
            failure = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", dir);
        }
        else
        {
            image = System.IO.Path.Combine(root, "fs.img");
            using (var f = new FileStream(image, FileMode.CreateNew)) f.SetLength(bytes);
            // -m 0: no blocks reserved for root (the tests run as root, so reserved blocks would be usable and
            // statvfs's f_bavail would understate what the database could still get). 4 KiB blocks as on real disks.
            failure = Run("mkfs.ext4", "-q", "-F", "-m", "0", "-b", "4096", image)
                      ?? Run("mount", "-o", "loop", image, dir);
        }
        var fs = new MountedFileSystem(dir, kind, image) { _mounted = failure is null };
        if (failure is not null)
        {
            output.WriteLine($"NOT RUN: cannot mount a {kind} test file system here ({failure}).");
            fs.Dispose();
            return null;
        }
        output.WriteLine($"mounted {kind} of {bytes} bytes at {dir}: {fs.Available} bytes available");
        return fs;
    }

    /// <summary>Remounts read-only (for the read-only file system error).</summary>
    public string? RemountReadOnly() => Run("mount", "-o", "remount,ro", Path);

    /// <summary>Runs a tool; null on success, else what went wrong.</summary>
    private static string? Run(string tool, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? null : $"{tool} exited with {p.ExitCode}: {err.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{tool} not available: {e.Message}";
        }
    }

    public void Dispose()
    {
        if (_mounted)
        {
            // A just-closed database may still be referenced for a moment; retry, then detach lazily.
            for (int i = 0; i < 20 && Run("umount", Path) is not null; i++) Thread.Sleep(100);
            if (Run("mountpoint", "-q", Path) is null) Run("umount", "-l", Path);
            _mounted = false;
        }
        try { Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true); } catch (IOException) { }
    }
}
