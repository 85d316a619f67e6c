using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Native;

/// <summary>
/// Bytes a directory's files take on disk (allocated blocks, like <c>du</c>), so a sparse file (LMDB with
/// MDB_WRITEMAP truncates its file to the map size) counts only what it really uses.
/// </summary>
internal static unsafe partial class FileUsage
{
    // struct stat on glibc for x86-64 and aarch64: st_blocks (512-byte units) at byte 64.
    private const int StatBufferSize = 256;
    private const int BlocksOffset = 64;

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, byte* buffer);

    private static readonly bool StatLayoutKnown =
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>Allocated bytes of one file; falls back to its length where stat's layout is unknown.</summary>
    public static long AllocatedBytes(string file)
    {
        if (StatLayoutKnown)
        {
            byte* buffer = stackalloc byte[StatBufferSize];
            try
            {
                if (Stat(file, buffer) == 0) return *(long*)(buffer + BlocksOffset) * 512;
            }
            catch (EntryPointNotFoundException)
            {
                // glibc before 2.33 exports only __xstat; the length below is close enough there.
            }
        }
        return new FileInfo(file).Length;
    }

    /// <summary>Sum over the files of a directory, skipping files <paramref name="skip"/> names (for example logs).</summary>
    public static long DirectoryBytes(string dir, Func<string, bool>? skip = null)
    {
        long total = 0;
        foreach (string f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            if (skip is null || !skip(Path.GetFileName(f))) total += AllocatedBytes(f);
        return total;
    }
}
