using System.Globalization;
using System.Runtime.Versioning;
using Microsoft.Win32;

namespace MmapKv.Storage;

/// <summary>The Windows side of <see cref="BootIdentity"/>: the kernel's boot counter in the registry.</summary>
[SupportedOSPlatform("windows")]
internal static class WindowsBootIdentity
{
    public static string? Read()
    {
        try
        {
            using var key = Registry.LocalMachine.OpenSubKey(@"SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management\PrefetchParameters");
            return key?.GetValue("BootId") is int id ? "windows-boot-" + ((uint)id).ToString(CultureInfo.InvariantCulture) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return null;
        }
    }
}
