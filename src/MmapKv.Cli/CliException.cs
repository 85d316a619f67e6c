namespace MmapKv.Cli;

/// <summary>An error the tool itself detects, with the exit code it maps to. Its message is shown as is.</summary>
internal class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The command line or the input text is wrong (exit code 2).</summary>
internal sealed class UsageException(string message) : CliException(ExitCodes.Usage, message);
