using System.CommandLine;

namespace MmapKv.Cli.Commands;

/// <summary><c>trees FILE</c>: the named trees, one name per line, in the catalog's byte order; <c>--count</c> and
/// <c>--order</c> add tab-separated columns (count first); a multimap tree's line ends with a <c>multimap</c> column,
/// and its count is its (key, value) pairs.</summary>
internal static class TreesCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var counts = new Option<bool>("--count", "-c") { Description = "Also print each tree's entry count (NAME<TAB>COUNT)." };
        var orders = new Option<bool>("--order", "-o") { Description = "Also print each tree's key order (Bytewise, Reverse, Int64, UInt64 or Custom), after the count if both." };
        var command = new Command("trees",
            "List the named trees (the default tree has no name and is not listed). A multimap tree's line ends with " +
            "<TAB>multimap, and its count is its number of (key, value) pairs.") { file, counts, orders };
        command.SetAction(parse =>
        {
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            using var tx = db.BeginRead();
            bool withCounts = parse.GetValue(counts), withOrders = parse.GetValue(orders);
            foreach (string name in tx.GetTreeNames())
            {
                bool multimap = tx.IsMultiTree(name);
                string line = name;
                if (withCounts || withOrders)
                {
                    // A custom-ordered tree opens unbound: its count and order still read.
                    if (withCounts) line += $"\t{(multimap ? tx.OpenMultiTree(name).ValueCount : tx.OpenTree(name).Count)}";
                    if (withOrders) line += $"\t{(multimap ? KeyOrder.Bytewise : tx.OpenTree(name).KeyOrder)}";
                }
                if (multimap) line += "\tmultimap";
                context.Out.WriteLine(line);
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
