using System.CommandLine;
using System.Text;

namespace MmapKv.Cli;

/// <summary>The <c>mmapkv</c> entry point. <see cref="Run(string[], CliContext)"/> is what tests call.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        // Buffered: dump and scan can write millions of lines. Flushed before exit, whatever the outcome.
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        var stderr = new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = true };
        using var cancel = new CancellationTokenSource();
        // First Ctrl+C asks the running command to stop cleanly (bench deletes its folder, load aborts its
        // transaction); a second one kills the process as usual.
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            // Latin-1 maps every byte to one char and back, so load sees the exact bytes of its input.
            var context = new CliContext(stdout, stderr,
                () => new StreamReader(Console.OpenStandardInput(), Encoding.Latin1, false, 1 << 16),
                TerminalProgress.ForStandardError(), cancel.Token)
            {
                InputIsTerminal = !Console.IsInputRedirected,
                OutputIsTerminal = !Console.IsOutputRedirected,
            };
            return Run(args, context);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            try { stdout.Flush(); } catch (IOException) { /* a closed pipe (mmapkv scan | head): nothing to report to */ }
        }
    }

    /// <summary>Runs one command line against the given writers, as the process would, and returns the exit code.</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader? stdin = null) =>
        Run(args, new CliContext(stdout, stderr, () => stdin ?? TextReader.Null, progress: null, CancellationToken.None));

    internal static int Run(string[] args, CliContext context)
    {
        try
        {
            var root = CliCommands.Build(context);
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (var error in parsed.Errors) context.Err.WriteLine($"error: {OneLine(error.Message)}");
                context.Err.WriteLine("Run 'mmapkv --help' or 'mmapkv COMMAND --help' for usage.");
                return ExitCodes.Usage;
            }
            var invocation = new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Err,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null, // Ctrl+C is handled by Main, which owns the console
            };
            return parsed.Invoke(invocation);
        }
        catch (Exception e)
        {
            var (code, message) = ErrorMapping.Describe(e);
            context.Err.WriteLine($"error: {OneLine(message)}");
            if (code == ExitCodes.Error && Environment.GetEnvironmentVariable("MMAPKV_DEBUG") == "1")
                context.Err.WriteLine(e.ToString());
            return code;
        }
        finally
        {
            context.Out.Flush();
        }
    }

    /// <summary>Errors are one line each: a message with line breaks would read as several errors.</summary>
    internal static string OneLine(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"\s+", " ").Trim();
}
