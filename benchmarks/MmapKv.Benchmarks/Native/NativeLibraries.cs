using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Native;

/// <summary>
/// Finds the peers' shared libraries. Each binding imports a logical name ("lmdb", "rocksdb", "sqlite3"); the
/// resolver maps it to the first soname that loads, so a missing library is reported once, by package name,
/// instead of as a DllNotFoundException in the middle of a run.
/// </summary>
internal static class NativeLibraries
{
    public const string Lmdb = "lmdb";
    public const string RocksDb = "rocksdb";
    public const string Sqlite = "sqlite3";
    public const string Libc = "libc";

    /// <summary>Logical name → candidate sonames (newest first) and the Debian package that ships them.</summary>
    private static readonly Dictionary<string, (string[] Names, string Package)> Known = new()
    {
        [Lmdb] = (["liblmdb.so.0", "liblmdb.so"], "liblmdb0"),
        [RocksDb] = (["librocksdb.so", "librocksdb.so.9", "librocksdb.so.8", "librocksdb.so.7.8", "librocksdb.so.7", "librocksdb.so.6"], "librocksdb-dev"),
        [Sqlite] = (["libsqlite3.so.0", "libsqlite3.so"], "libsqlite3-0"),
        [Libc] = (["libc.so.6"], "libc6"),
    };

    private static readonly Dictionary<string, (nint Handle, string Soname)> Loaded = new();
    private static int _installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) != 0) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
        // LightningDB imports "lmdb" and ships its own liblmdb.so, built against glibc 2.38, which fails to load on
        // Debian 12 (glibc 2.36). Point its import at Debian's liblmdb.so.0, the library the raw binding uses.
        NativeLibrary.SetDllImportResolver(typeof(LightningDB.LightningEnvironment).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!Known.ContainsKey(name)) return 0;
        return TryLoad(name, out nint handle, out _) ? handle : 0;
    }

    /// <summary>Loads the library behind a logical name; false if none of its sonames loads.</summary>
    public static bool TryLoad(string name, out nint handle, out string soname)
    {
        lock (Loaded)
        {
            if (Loaded.TryGetValue(name, out var hit))
            {
                (handle, soname) = hit;
                return true;
            }
            foreach (string candidate in Known[name].Names)
            {
                if (NativeLibrary.TryLoad(candidate, out handle))
                {
                    Loaded[name] = (handle, candidate);
                    soname = candidate;
                    return true;
                }
            }
        }
        handle = 0;
        soname = "";
        return false;
    }

    /// <summary>The Debian package that provides a logical library name.</summary>
    public static string PackageFor(string name) => Known[name].Package;

    /// <summary>Installed version of a Debian package (dpkg-query), or null when dpkg is not there.</summary>
    public static string? PackageVersion(string package)
    {
        try
        {
            var psi = new ProcessStartInfo("dpkg-query", ["-W", "-f=${Version}", package])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
