using System.Runtime.Versioning;

namespace MmapKv.Storage;

/// <summary>The Linux side of <see cref="BootIdentity"/>.</summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixBootIdentity
{
    public static string? Read()
    {
        try
        {
            string id = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            return id.Length == 0 ? null : id;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
