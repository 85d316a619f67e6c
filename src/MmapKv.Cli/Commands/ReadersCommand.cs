using System.CommandLine;
using System.Globalization;

namespace MmapKv.Cli.Commands;

/// <summary>
/// <c>readers FILE</c>: the open read transactions of every process that has the database open, oldest first, one
/// per line: process id, snapshot txn, age in seconds (tab-separated), and "abandoned" for a collected reader of
/// this tool's own process (never, in practice). The tool's own read is not listed.
/// </summary>
internal static class ReadersCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var command = new Command("readers", "List the open read transactions of every process: PID, snapshot txn, age (seconds), oldest first.") { file };
        command.SetAction(parse =>
        {
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            var stats = db.GetStats(); // its own read uses an internal slot, which the list leaves out
            foreach (var r in stats.Readers)
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.ProcessId}\t{r.SnapshotTxnId}\t{r.Age.TotalSeconds:0.000}{(r.Abandoned ? "\tabandoned" : "")}"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
