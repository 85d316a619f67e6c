using Spectre.Console;

namespace MmapKv.Cli;

/// <summary>A set of progress bars shown while some work runs.</summary>
internal interface IProgressScope
{
    /// <summary>Adds a bar. <paramref name="total"/> null means the total is unknown (an indeterminate bar).</summary>
    IProgressTask AddTask(string description, long? total, bool start = true);
}

/// <summary>One bar. Cheap enough to call per batch, not per entry.</summary>
internal interface IProgressTask
{
    void Start();
    void Set(long done);
    void Describe(string description);
    void Finish();
}

internal sealed class NullProgressScope : IProgressScope, IProgressTask
{
    public static readonly NullProgressScope Instance = new();
    public IProgressTask AddTask(string description, long? total, bool start = true) => this;
    public void Start() { }
    public void Set(long done) { }
    public void Describe(string description) { }
    public void Finish() { }
}

/// <summary>Spectre.Console progress on standard error. Only created when standard error is an ANSI terminal.</summary>
internal sealed class TerminalProgress
{
    private readonly IAnsiConsole _console;

    private TerminalProgress(IAnsiConsole console) => _console = console;

    /// <summary>Progress for the process's standard error, or null when it is redirected or not a capable terminal.</summary>
    public static TerminalProgress? ForStandardError()
    {
        if (Console.IsErrorRedirected) return null;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            // Progress draws on stderr; whether stdin is a pipe (mdb_dump -a env | mmapkv load) does not matter.
            Interactive = InteractionSupport.Yes,
        });
        return console.Profile.Capabilities.Ansi ? new TerminalProgress(console) : null;
    }

    public T Run<T>(Func<IProgressScope, T> work) =>
        _console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx => work(new Scope(ctx)));

    public T Status<T>(string description, Func<T> work) =>
        _console.Status().Start(description, _ => work());

    private sealed class Scope(ProgressContext context) : IProgressScope
    {
        public IProgressTask AddTask(string description, long? total, bool start = true)
        {
            var task = context.AddTask(Markup.Escape(description), autoStart: start, maxValue: total ?? 1);
            task.IsIndeterminate = total is null;
            return new Task(task);
        }
    }

    private sealed class Task(ProgressTask task) : IProgressTask
    {
        public void Start() => task.StartTask();
        public void Set(long done) => task.Value = Math.Min(done, task.MaxValue);
        public void Describe(string description) => task.Description = Markup.Escape(description);
        public void Finish()
        {
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
