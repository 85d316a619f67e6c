using System.CommandLine;

namespace MmapKv.Cli.Commands;

/// <summary><c>copy FILE DEST</c>: a consistent backup of the newest commit, via <see cref="KvDatabase.CopyTo(string, bool)"/>.</summary>
internal static class CopyCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var dest = new Argument<string>("DEST") { Description = "The new file; must not exist." };
        var compact = new Option<bool>("--compact", "-c") { Description = "Rebuild the trees densely packed, leaving out free pages." };
        var command = new Command("copy",
            "Write a consistent copy of the newest commit to DEST (written under a temporary name, synced, then " +
            "renamed). The database stays readable meanwhile. With --compact the copy holds only live data.")
        {
            file, dest, compact,
        };
        command.SetAction(parse =>
        {
            string to = parse.GetValue(dest)!;
            if (File.Exists(to) || Directory.Exists(to)) throw new CliException(ExitCodes.Error, $"the destination {to} already exists; copy never overwrites");
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            Copy(context, db, to, parse.GetValue(compact));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Copies an open database (the part of the command that tests run while a writer commits).</summary>
    internal static void Copy(CliContext context, KvDatabase db, string destination, bool compact)
    {
        long txn = db.LastTxnId;
        long sourceSize = new FileInfo(db.Path).Length;
        context.WithStatus(compact ? "copying (compacting)" : "copying", () => { db.CopyTo(destination, compact); return 0; });
        long size = new FileInfo(destination).Length;
        string ratio = sourceSize > 0 ? $", {100.0 * size / sourceSize:0.#}% of the source's {StatCommand.N(sourceSize)} bytes" : "";
        context.Out.WriteLine($"copied txn {StatCommand.N(txn)}{(txn == db.LastTxnId ? "" : " or later")} to {destination}{(compact ? " (compacted)" : "")}: {StatCommand.N(size)} bytes{ratio}");
    }
}
