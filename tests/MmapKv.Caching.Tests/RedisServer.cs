using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MmapKv.Caching.Tests;

/// <summary>
/// A real Debian <c>redis-server</c> on 127.0.0.1 at a free port, with persistence off, for the backplane tests.
/// Stopped (killed) on dispose. A machine without redis-server fails the test with a message saying how to install
/// it (.ci/install-deps does): the scale-out test is never skipped.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public int Port { get; }

    public RedisServer()
    {
        string exe = Find() ?? throw new InvalidOperationException(
            "redis-server is not installed, and the scale-out test needs a real one: run .ci/install-deps, or apt-get install -y redis-server.");
        Port = FreePort();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", Path.GetTempPath() })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitForPong(TimeSpan.FromSeconds(20));
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            string candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void WaitForPong(TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"redis-server exited at start (code {_process.ExitCode}):\n{Output}");
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                stream.Write("PING\r\n"u8);
                var buffer = new byte[16];
                int n = stream.Read(buffer);
                if (Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal)) return;
            }
            catch (SocketException) { }
            if (DateTime.UtcNow > until) throw new TimeoutException($"redis-server did not answer PING on port {Port}:\n{Output}");
            Thread.Sleep(50);
        }
    }

    private string Output { get { lock (_output) return _output.ToString(); } }

    public void Dispose()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}
