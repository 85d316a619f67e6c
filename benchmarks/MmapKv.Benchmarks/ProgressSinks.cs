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
        Console.WriteLine($"[{_clock.Elapsed:hh\\:mm\\:ss}] rep {repetition + 1}/{repetitions}  {engine.Name,-16} {row.Label,-45} {Units.Value(row, value)}");

}

/// <summary>Reports nothing (the warm-up).</summary>
internal sealed class SilentProgress : IProgressSink
{
    public void Start(IEngine engine, Row row, int repetition) { }
    public void Done(IEngine engine, Row row, int repetition, double value) { }
}

/// <summary>A live progress bar per engine on a terminal.</summary>
internal sealed class LiveProgress : IProgressSink
{
    private readonly Dictionary<string, ProgressTask> _tasks = new();

    public LiveProgress(ProgressContext context, IEnumerable<IEngine> engines, int stepsPerEngine)
    {
        foreach (var e in engines) _tasks[e.Id] = context.AddTask(e.Name, maxValue: Math.Max(1, stepsPerEngine));
    }

    public void Start(IEngine engine, Row row, int repetition) =>
        _tasks[engine.Id].Description = Markup.Escape($"{engine.Name}: {row.Label} (rep {repetition + 1})");

    public void Done(IEngine engine, Row row, int repetition, double value)
    {
        var t = _tasks[engine.Id];
        t.Increment(1);
        t.Description = Markup.Escape($"{engine.Name}: {row.Label} = {Units.Value(row, value)}");
    }

}
