using System.Diagnostics;
using System.Globalization;
using MmapKv.Benchmarks.Engines;

namespace MmapKv.Benchmarks.Workloads;

internal enum TwoProcessRole { Reader, Writer }

/// <summary>
/// The second process of <c>--two-process</c>: the harness's own executable started with the hidden first
/// argument <see cref="Flag"/>. It opens the database the parent loaded, builds the same dataset, writes "ready",
/// then obeys one line at a time: "go SECONDS" runs one window of its loop (the parent runs its own for the same
/// time) and answers <see cref="WindowResult.ToLine"/>; "result" answers the loop's whole tally
/// (<see cref="ReaderResult"/> or <see cref="WriterResult"/>); "check FIRST COUNT" verifies a writer's keys in a
/// fresh snapshot of its own ("ok"); "exit" closes the database. A failure is one line, "wrong ..." (a wrong
/// result, exit code 2) or "error ..." (exit code 4), with details on standard error.
/// </summary>
internal static class TwoProcessChild
{
    public const string Flag = "--two-process-child";

    private const string ArgsUsage = $"{Flag} reader|writer ENGINE DIR N CAPACITY SECONDS WARMUP_SECONDS MAP_SIZE WRITER_FIRST SEED";

    /// <summary>The child's arguments, in <see cref="ArgsUsage"/> order.</summary>
    public static string[] Arguments(TwoProcessRole role, string engine, string dir, TwoProcessPlan plan, long writerFirst, ulong seed) =>
    [
        Flag, role == TwoProcessRole.Reader ? "reader" : "writer", engine, dir,
        plan.N.ToString(CultureInfo.InvariantCulture), plan.Capacity.ToString(CultureInfo.InvariantCulture),
        plan.Seconds.ToString("R", CultureInfo.InvariantCulture), plan.WarmupSeconds.ToString("R", CultureInfo.InvariantCulture),
        plan.MapSize.ToString(CultureInfo.InvariantCulture), writerFirst.ToString(CultureInfo.InvariantCulture),
        seed.ToString(CultureInfo.InvariantCulture),
    ];

    public static int Run(string[] args)
    {
        if (args.Length != 10)
        {
            Console.Error.WriteLine($"usage: {ArgsUsage}");
            return 1;
        }
        var inv = CultureInfo.InvariantCulture;
        IEngine? engine = null;
        try
        {
            var role = args[0] switch
            {
                "reader" => TwoProcessRole.Reader,
                "writer" => TwoProcessRole.Writer,
                _ => throw new ArgumentException($"{Flag}: the role must be reader or writer, not '{args[0]}'"),
            };
            var plan = new TwoProcessPlan(long.Parse(args[3], inv), long.Parse(args[4], inv), double.Parse(args[5], inv),
                double.Parse(args[6], inv), long.Parse(args[7], inv));
            long writerFirst = long.Parse(args[8], inv);
            ulong seed = ulong.Parse(args[9], inv);
            using var data = new Dataset(plan.Count);
            engine = EngineCatalog.Create(args[1], plan.Settings);
            engine.Open(args[2]);
            Say("ready");
            var reader = role == TwoProcessRole.Reader ? new ReaderLoop(engine, data, plan, writerFirst, seed) : null;
            var writer = role == TwoProcessRole.Writer ? new WriterLoop(engine, data, plan, writerFirst) : null;
            IWindowLoop loop = (IWindowLoop?)reader ?? writer!;
            while (Console.ReadLine() is { } line)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (parts)
                {
                    case ["go", var seconds]:
                        Say(loop.Window(double.Parse(seconds, inv)).ToLine());
                        break;
                    case ["result"]:
                        Say(reader is not null ? reader.Result().ToLine() : writer!.Result().ToLine());
                        break;
                    case ["check", var first, var count]:
                        TwoProcessLoops.CheckWrites(engine, data, long.Parse(first, inv), long.Parse(count, inv), plan.Capacity, "the other process");
                        Say("ok");
                        break;
                    case ["exit"]:
                        engine.Close();
                        return 0;
                    default:
                        throw new ArgumentException($"unknown command '{line}'");
                }
            }
            throw new InvalidOperationException("the parent closed the pipe without 'exit'");
        }
        catch (VerificationException e)
        {
            Say("wrong " + OneLine(e.Message));
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"two-process child ({string.Join(' ', args)}): {e}");
            Say($"error {e.GetType().Name}: {OneLine(e.Message)}");
            return 4;
        }
        finally
        {
            engine?.Dispose();
        }
    }

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" | ");
}

/// <summary>The parent's handle on a child: starts it, exchanges lines with time limits, and kills it if it hangs.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    /// <summary>The command that starts it, for a failure report.</summary>
    public string CommandLine { get; }

    public ChildProcess(string[] args)
    {
        // `dotnet MmapKv.Benchmarks.dll ...` (the scripts) runs the host: start the same dll with it. The apphost
        // (bin/.../MmapKv.Benchmarks) is started directly.
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("the harness's executable path is unknown");
        var psi = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false, // its messages go straight to the harness's standard error
            UseShellExecute = false,
        };
        var all = new List<string>();
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") all.Add(typeof(ChildProcess).Assembly.Location);
        all.AddRange(args);
        foreach (string a in all) psi.ArgumentList.Add(a);
        CommandLine = string.Join(' ', new[] { host }.Concat(all));
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {CommandLine}");
    }

    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>The child's next line; a "wrong" line becomes a <see cref="VerificationException"/>, anything else unexpected a <see cref="TwoProcessFailure"/>.</summary>
    public string Receive(TimeSpan timeout, string waitingFor)
    {
        string? line;
        using (var cts = new CancellationTokenSource(timeout))
        {
            try { line = _process.StandardOutput.ReadLineAsync(cts.Token).AsTask().GetAwaiter().GetResult(); }
            catch (OperationCanceledException)
            {
                Kill();
                throw new TwoProcessFailure($"the second process sent no {waitingFor} within {timeout.TotalSeconds:0} s (hung; killed)", this);
            }
        }
        if (line is null)
        {
            _process.WaitForExit(5_000);
            string code = _process.HasExited ? $"exit code {_process.ExitCode}" : "still running";
            throw new TwoProcessFailure($"the second process closed its output while the parent waited for {waitingFor} ({code})", this);
        }
        if (line.StartsWith("wrong ", StringComparison.Ordinal)) throw new VerificationException($"second process: {line[6..]}");
        if (line.StartsWith("error ", StringComparison.Ordinal)) throw new TwoProcessFailure($"the second process failed: {line[6..]}", this);
        return line;
    }

    public void Expect(string word, TimeSpan timeout)
    {
        string line = Receive(timeout, $"'{word}'");
        if (line != word) throw new TwoProcessFailure($"the second process sent '{line}', expected '{word}'", this);
    }

    /// <summary>Sends "exit" and waits for a clean exit.</summary>
    public void Exit(TimeSpan timeout)
    {
        Send("exit");
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            throw new TwoProcessFailure($"the second process did not exit within {timeout.TotalSeconds:0} s of 'exit' (hung; killed)", this);
        }
        _process.WaitForExit(); // drains the output pipe
        if (_process.ExitCode != 0) throw new TwoProcessFailure($"the second process exited with code {_process.ExitCode}", this);
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // exited meanwhile
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}

/// <summary>The second process failed, hung or broke the protocol: not a wrong result, but no figure either.</summary>
internal sealed class TwoProcessFailure(string message, ChildProcess child) : Exception(message)
{
    public string ChildCommandLine { get; } = child.CommandLine;
}
