using MmapKv.Storage;
using Xunit;

namespace MmapKv.Tests;

/// <summary><see cref="BootIdentity"/>: the boot id that tells a lock file's content of this boot from an earlier one's.</summary>
public sealed class BootIdentityTests(ITestOutputHelper output)
{
    [Fact]
    public void BootId_IsKnownOnLinuxAndWindows_AndStable()
    {
        string? id = BootIdentity.BootId;
        output.WriteLine($"boot id: {id ?? "(unknown)"}");
        Assert.Equal(id, BootIdentity.BootId);
        if (OperatingSystem.IsLinux())
        {
            Assert.NotNull(id);
            Assert.True(Guid.TryParse(id, out _), $"'{id}' is not a UUID");
            Assert.Equal(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(), id);
        }
        if (OperatingSystem.IsWindows())
        {
            // The kernel's boot time is always there (under Wine too, which has no boot counter).
            Assert.NotNull(id);
            Assert.StartsWith("windows-boot-", id);
            Assert.False(id.EndsWith("-none", StringComparison.Ordinal), $"'{id}' has no boot time");
        }
    }
}
