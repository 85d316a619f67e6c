using System.Diagnostics;

namespace MmapKv.Caching.Tests;

/// <summary>
/// One node of a scaled-out service in its own process: tests/MmapKv.Caching.TestChild in "node" mode (FusionCache
/// over its own MmapKvCache file, Redis backplane), driven one command per line.
/// </summary>
public sealed class CacheNode : IDisposable
{
    private static readonly TimeSpan ReplyLimit = TimeSpan.FromSeconds(30);
    private readonly Process _process;

    public CacheNode(string path, int redisPort, bool plugin)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { CrashTests.ChildDll, "node", path, redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), plugin ? "plugin" : "no-plugin" })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        string ready = ReadLine();
        if (ready != "READY") throw new InvalidOperationException($"the node printed '{ready}' instead of READY");
    }

    /// <summary>Sends one command and returns the node's one-line reply.</summary>
    public string Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        return ReadLine();
    }

    private string ReadLine()
    {
        var read = _process.StandardOutput.ReadLineAsync();
        if (!read.Wait(ReplyLimit)) throw new TimeoutException($"the node did not answer within {ReplyLimit.TotalSeconds} s");
        return read.Result ?? throw new InvalidOperationException($"the node exited (code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)})");
    }

    /// <summary>Asks <paramref name="command"/> until the reply is <paramref name="expected"/>; returns the last reply.</summary>
    public string Await(string command, string expected, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (true)
        {
            string reply = Send(command);
            if (reply == expected || DateTime.UtcNow > until) return reply;
            Thread.Sleep(20);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(10_000)) _process.Kill();
            }
        }
        catch (IOException) { }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
