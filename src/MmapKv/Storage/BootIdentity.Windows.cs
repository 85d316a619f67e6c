using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32;

namespace MmapKv.Storage;

/// <summary>
/// The Windows side of <see cref="BootIdentity"/>: the kernel's boot counter in the registry together with the
/// kernel's record of when this boot began.
/// </summary>
/// <remarks>
/// Either alone falls short. The counter may be read twice for two boots, when power was lost before the registry
/// reached the disk, and Wine has no counter at all. The boot time is adjusted when the clock is stepped (then the
/// id changes and a lock file's content is not trusted, which is the safe direction). Together, two boots share an id
/// only if both are true at once. Under Wine the boot time is the start of the wineserver.
/// </remarks>
[SupportedOSPlatform("windows")]
internal static unsafe partial class WindowsBootIdentity
{
    public static string? Read()
    {
        string? counter = ReadCounter();
        long? bootTime = ReadBootTime();
        if (counter is null && bootTime is null) return null;
        return "windows-boot-" + (counter ?? "none") + "-" + (bootTime?.ToString(CultureInfo.InvariantCulture) ?? "none");
    }

    private static string? ReadCounter()
    {
        try
        {
            using var key = Registry.LocalMachine.OpenSubKey(@"SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management\PrefetchParameters");
            return key?.GetValue("BootId") is int id ? ((uint)id).ToString(CultureInfo.InvariantCulture) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return null;
        }
    }

    // SystemTimeOfDayInformation: boot time, current time, time-zone bias (8 bytes each), time-zone id and a reserved
    // word (4 each), boot-time bias and sleep-time bias (8 each).
    private const int SystemTimeOfDayInformation = 3;
    private const int TimeOfDaySize = 48;

    private static long? ReadBootTime()
    {
        byte* info = stackalloc byte[TimeOfDaySize];
        uint returned = 0;
        try
        {
            if (NtQuerySystemInformation(SystemTimeOfDayInformation, info, TimeOfDaySize, &returned) != 0 || returned < 8) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        long bootTime = *(long*)info; // 100-ns units since 1601, UTC
        return bootTime > 0 ? bootTime : null;
    }

    [LibraryImport("ntdll.dll")]
    private static partial int NtQuerySystemInformation(int infoClass, void* info, uint length, uint* returned);
}
