using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MmapKv.CacheBenchmarks;

/// <summary>Debian's redis-server on 127.0.0.1 at a free port, persistence off (no RDB snapshots, no AOF), killed on dispose.</summary>
internal sealed class RedisServerProcess : IDisposable
{
    private readonly Process _process;

    public int Port { get; }
    public string Version { get; }

    public RedisServerProcess()
    {
        string exe = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: apt-get install -y redis-server (benchmarks/cache.sh does it).");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", Path.GetTempPath() })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!Ping())
        {
            if (_process.HasExited || DateTime.UtcNow > until) throw new InvalidOperationException($"redis-server did not start on port {Port}");
            Thread.Sleep(50);
        }
        var v = Process.Start(new ProcessStartInfo(exe, "--version") { RedirectStandardOutput = true })!;
        string text = v.StandardOutput.ReadToEnd();
        v.WaitForExit();
        Version = text.Split(' ').FirstOrDefault(s => s.StartsWith("v=", StringComparison.Ordinal))?[2..] ?? "?";
    }

    private bool Ping()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            var s = client.GetStream();
            s.Write("PING\r\n"u8);
            var buffer = new byte[16];
            int n = s.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException) { return false; }
    }

    public void Dispose()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}
