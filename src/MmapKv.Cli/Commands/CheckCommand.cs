using System.CommandLine;

namespace MmapKv.Cli.Commands;

/// <summary><c>check FILE</c>: the full integrity check; each problem on its own line, exit 1 if there is any.</summary>
internal static class CheckCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var command = new Command("check", "Run the full integrity check and list every problem found. Exits 1 if there is any.") { file };
        command.SetAction(parse =>
        {
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            var report = context.WithStatus("checking", db.Check);
            return Write(context.Out, report);
        });
        return command;
    }

    /// <summary>Prints a report; returns the exit code it calls for.</summary>
    internal static int Write(TextWriter o, CheckReport report)
    {
        if (report.IsValid)
        {
            o.WriteLine(report.ToString());
            return ExitCodes.Ok;
        }
        foreach (string problem in report.Problems) o.WriteLine($"problem: {Program.OneLine(problem)}");
        if (report.ProblemCount > report.Problems.Count)
            o.WriteLine($"... and {report.ProblemCount - report.Problems.Count} more not listed");
        o.WriteLine($"FAILED: {report.ProblemCount} problem(s) at txn {report.TxnId}");
        return ExitCodes.NotFoundOrProblems;
    }
}
