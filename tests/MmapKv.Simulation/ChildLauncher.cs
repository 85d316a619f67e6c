using System.Diagnostics;

namespace MmapKv.Simulation;

/// <summary>
/// How the real-process tests start a child program (MmapKv.CrashChild, the cache's test child): through the dotnet
/// host on Unix, and as its own executable beside the tests on Windows, where there may be no dotnet host (.ci/wine
/// publishes the children self-contained for win-x64 into the tests' folder).
/// </summary>
public static class ChildLauncher
{
    /// <summary>
    /// Start information for <paramref name="childDll"/> with <paramref name="args"/>; stdout and stderr redirected,
    /// no shell.
    /// </summary>
    public static ProcessStartInfo For(string childDll, params IEnumerable<string> args)
    {
        var psi = OperatingSystem.IsWindows()
            ? new ProcessStartInfo(Path.ChangeExtension(childDll, ".exe"))
            : new ProcessStartInfo("dotnet") { ArgumentList = { childDll } };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        return psi;
    }
}
