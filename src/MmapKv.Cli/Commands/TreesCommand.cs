using System.CommandLine;

namespace MmapKv.Cli.Commands;

/// <summary><c>trees FILE</c>: the named trees, one name per line, in the catalog's byte order.</summary>
internal static class TreesCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var counts = new Option<bool>("--count", "-c") { Description = "Also print each tree's entry count (NAME<TAB>COUNT)." };
        var command = new Command("trees", "List the named trees (the default tree has no name and is not listed).") { file, counts };
        command.SetAction(parse =>
        {
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            using var tx = db.BeginRead();
            bool withCounts = parse.GetValue(counts);
            foreach (string name in tx.GetTreeNames())
                context.Out.WriteLine(withCounts ? $"{name}\t{tx.OpenTree(name).Count}" : name);
            return ExitCodes.Ok;
        });
        return command;
    }
}
