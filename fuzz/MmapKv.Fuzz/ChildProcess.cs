using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace MmapKv.Fuzz;

internal enum OutcomeKind { Ok, Unexpected, Crash, Hang }

internal sealed record CaseOutcome(OutcomeKind Kind, string[] Typed, string Notes = "", string Signature = "", string Details = "", TimeSpan Elapsed = default);

/// <summary>
/// A file-mode worker process (this program with <c>--run-file-cases</c>). Cases go in on stdin one at a time; the
/// answer comes back on stdout. A child that dies mid-case crashed on it; one that does not answer in time hangs.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _p;
    private readonly BlockingCollection<string> _lines = new();
    private readonly StringBuilder _stderr = new();
    private volatile string _phase = "?";
    private readonly Thread _errReader;

    public int CasesRun { get; private set; }

    private ChildProcess(Process p)
    {
        _p = p;
        var outReader = new Thread(() =>
        {
            try
            {
                string? line;
                while ((line = _p.StandardOutput.ReadLine()) is not null) _lines.Add(line);
            }
            catch (Exception) { }
            finally { _lines.CompleteAdding(); }
        }) { IsBackground = true, Name = "child-stdout" };
        _errReader = new Thread(() =>
        {
            try
            {
                string? line;
                while ((line = _p.StandardError.ReadLine()) is not null)
                {
                    if (line.StartsWith("@@PHASE ", StringComparison.Ordinal)) { _phase = line[8..]; continue; }
                    lock (_stderr)
                    {
                        _stderr.AppendLine(line);
                        if (_stderr.Length > 64_000) _stderr.Remove(0, _stderr.Length - 48_000);
                    }
                }
            }
            catch (Exception) { }
        }) { IsBackground = true, Name = "child-stderr" };
        outReader.Start();
        _errReader.Start();
    }

    /// <summary>Starts a worker whose temporary files (compacting copies) go to <paramref name="workDir"/>.</summary>
    public static ChildProcess Start(string workDir)
    {
        string self = typeof(ChildProcess).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo
        {
            FileName = host,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) psi.ArgumentList.Add(self);
        psi.ArgumentList.Add("--run-file-cases");
        psi.Environment["TMPDIR"] = workDir;
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        psi.Environment["DOTNET_EnableCrashReport"] = "0";
        psi.Environment["DOTNET_TieredPGO"] = "0";
        return new ChildProcess(Process.Start(psi) ?? throw new InvalidOperationException("cannot start the worker process"));
    }

    public CaseOutcome Run(long index, ulong caseSeed, string path, TimeSpan timeout, int thorough = 0)
    {
        CasesRun++;
        var clock = Stopwatch.StartNew();
        try
        {
            _p.StandardInput.WriteLine($"C {index} {caseSeed} {thorough} {path}");
            _p.StandardInput.Flush();
        }
        catch (IOException) { return Died(clock); }
        string prefix = $"@@R {index} ";
        while (true)
        {
            var remaining = timeout - clock.Elapsed;
            if (remaining <= TimeSpan.Zero || !_lines.TryTake(out string? line, remaining))
            {
                if (_lines.IsCompleted) return Died(clock);
                string phase = _phase;
                Kill();
                return new CaseOutcome(OutcomeKind.Hang, Array.Empty<string>(), Signature: $"no answer within {timeout.TotalSeconds:F0} s, last phase {phase}",
                    Details: $"last phase reported: {phase}\n--- child stderr ---\n{StderrTail()}", Elapsed: clock.Elapsed);
            }
            if (!line.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var parts = line[prefix.Length..].Split(' ');
            if (parts[0] == "OK")
                return new CaseOutcome(OutcomeKind.Ok, SplitList(Unb64(parts[1])), Notes: Unb64(parts[2]), Elapsed: clock.Elapsed);
            return new CaseOutcome(OutcomeKind.Unexpected, SplitList(Unb64(parts[3])), Signature: Unb64(parts[1]), Details: Unb64(parts[2]), Elapsed: clock.Elapsed);
        }
    }

    private CaseOutcome Died(Stopwatch clock)
    {
        _p.WaitForExit(10_000);
        _errReader.Join(2_000);
        int code = _p.HasExited ? _p.ExitCode : -1;
        string err = StderrTail();
        return new CaseOutcome(OutcomeKind.Crash, Array.Empty<string>(), Signature: CrashSignature(code, err),
            Details: $"worker exit code {code} ({DescribeExit(code)}), last phase {_phase}\n--- child stderr ---\n{err}", Elapsed: clock.Elapsed);
    }

    private static string[] SplitList(string s) => s.Length == 0 ? Array.Empty<string>() : s.Split(',');

    private static string Unb64(string s) => Encoding.UTF8.GetString(Convert.FromBase64String(s));

    private string StderrTail()
    {
        lock (_stderr) return _stderr.ToString();
    }

    public static string DescribeExit(int code) => code switch
    {
        134 => "SIGABRT: the runtime aborted (fatal error, e.g. an access violation or stack overflow)",
        135 => "SIGBUS: access past the end of the mapped file",
        137 => "SIGKILL",
        139 => "SIGSEGV: access violation",
        > 128 and < 160 => $"signal {code - 128}",
        _ => "abnormal exit",
    };

    /// <summary>A short name for a crash: the fatal error line and the innermost MmapKv frame of the trace.</summary>
    private static string CrashSignature(int code, string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string what = lines.FirstOrDefault(l => l.Contains("Exception", StringComparison.Ordinal) || l.StartsWith("Stack overflow", StringComparison.Ordinal)
            || l.StartsWith("Fatal error", StringComparison.Ordinal)) ?? "";
        string frame = lines.FirstOrDefault(l => l.StartsWith("at MmapKv.", StringComparison.Ordinal) && !l.StartsWith("at MmapKv.Fuzz", StringComparison.Ordinal)) ?? "";
        int paren = frame.IndexOf('(', StringComparison.Ordinal);
        if (paren > 0) frame = frame[..paren];
        return $"exit {code} {what} {frame}".Trim();
    }

    private void Kill()
    {
        try { _p.Kill(entireProcessTree: true); } catch (Exception) { }
        _p.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try { _p.StandardInput.Close(); } catch (Exception) { }
        if (!_p.WaitForExit(5_000)) Kill();
        _p.Dispose();
    }
}
