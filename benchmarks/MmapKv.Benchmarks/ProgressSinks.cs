using System.Diagnostics;
using MmapKv.Benchmarks.Engines;
using MmapKv.Benchmarks.Report;
using MmapKv.Benchmarks.Workloads;
using Spectre.Console;

namespace MmapKv.Benchmarks;

/// <summary>One line per finished step, for logs and CI.</summary>
internal sealed class PlainProgress(int repetitions) : IProgressSink
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Start(IEngine engine, Row row, int repetition) { }

    public void Done(IEngine engine, Row row, int repetition, double value) =>
        Console.WriteLine($"[{_clock.Elapsed:hh\\:mm\\:ss}] rep {repetition + 1}/{repetitions}  {engine.Name,-16} {row.Label,-45} {Format.Value(row, value)}");

    public void Info(string message) => Console.WriteLine(message);
}

/// <summary>A live progress bar per engine on a terminal.</summary>
internal sealed class LiveProgress : IProgressSink
{
    private readonly Dictionary<string, ProgressTask> _tasks = new();
    private readonly List<string> _messages = new();

    public LiveProgress(ProgressContext context, IEnumerable<IEngine> engines, int stepsPerEngine)
    {
        foreach (var e in engines) _tasks[e.Id] = context.AddTask(e.Name, maxValue: Math.Max(1, stepsPerEngine));
    }

    public IReadOnlyList<string> Messages => _messages;

    public void Start(IEngine engine, Row row, int repetition) =>
        _tasks[engine.Id].Description = Markup.Escape($"{engine.Name}: {row.Label} (rep {repetition + 1})");

    public void Done(IEngine engine, Row row, int repetition, double value)
    {
        var t = _tasks[engine.Id];
        t.Increment(1);
        t.Description = Markup.Escape($"{engine.Name}: {row.Label} = {Format.Value(row, value)}");
    }

    public void Info(string message) => _messages.Add(message);
}
