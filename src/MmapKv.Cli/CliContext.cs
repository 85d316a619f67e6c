namespace MmapKv.Cli;

/// <summary>
/// Everything a command touches outside the database: the output writers, standard input, the progress display
/// and the cancellation token. Commands never use <see cref="Console"/> directly, so tests run them in-process.
/// </summary>
internal sealed class CliContext(TextWriter output, TextWriter error, Func<TextReader> openInput, TerminalProgress? progress,
    CancellationToken cancellation)
{
    /// <summary>Results: command output, dump text.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Errors, warnings and (on a terminal) progress.</summary>
    public TextWriter Err { get; } = error;

    /// <summary>Opens standard input. Each byte is one char (Latin-1) when it comes from the process's stdin.</summary>
    public Func<TextReader> OpenInput { get; } = openInput;

    /// <summary>Progress bars on standard error; null when it is not a terminal, so output stays plain.</summary>
    public TerminalProgress? Progress { get; } = progress;

    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>Standard input is a terminal (nothing was piped in): load says it is waiting for text.</summary>
    public bool InputIsTerminal { get; init; }

    /// <summary>Standard output is a terminal: dump draws no progress over the text it prints there.</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>
    /// Runs <paramref name="work"/>, showing progress when standard error is a terminal; <paramref name="outputBusy"/>
    /// says the work writes to standard output meanwhile, so bars would garble a terminal showing both.
    /// </summary>
    public T WithProgress<T>(Func<IProgressScope, T> work, bool outputBusy = false)
    {
        if (Progress is null || (outputBusy && OutputIsTerminal)) return work(NullProgressScope.Instance);
        Out.Flush(); // what the command printed so far goes above the bars, not after them
        return Progress.Run(work);
    }

    /// <summary>Runs <paramref name="work"/> under a spinner when standard error is a terminal.</summary>
    public T WithStatus<T>(string description, Func<T> work)
    {
        if (Progress is null) return work();
        Out.Flush();
        return Progress.Status(description, work);
    }
}
