namespace MmapKv.Storage;

/// <summary>
/// An identifier of the machine's current boot, so that content a lock file kept from an earlier boot (its inherited
/// commit, docs/durability.md §14) is not taken for this boot's.
/// </summary>
/// <remarks>
/// Linux: <c>/proc/sys/kernel/random/boot_id</c>, a random UUID the kernel draws at each boot. Windows: the boot
/// counter the kernel increments at each boot (registry value <c>BootId</c> under
/// <c>HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management\PrefetchParameters</c>) and the
/// kernel's boot time (<c>NtQuerySystemInformation</c>), as <c>"windows-boot-N-T"</c> (either may be <c>none</c>;
/// see <see cref="WindowsBootIdentity"/>). macOS and any failure: null. Liveness of processes never depends on this or on pids: opener locks decide
/// it (docs/format.md §12.3).
/// </remarks>
internal static class BootIdentity
{
    private static readonly Lazy<string?> s_bootId = new(() =>
        OperatingSystem.IsWindows() ? WindowsBootIdentity.Read()
        : OperatingSystem.IsLinux() ? UnixBootIdentity.Read()
        : null);

    /// <summary>This boot's identifier, or null when unknown: the caller must then not trust that content found in a
    /// lock file is of this boot.</summary>
    public static string? BootId => s_bootId.Value;
}
