using System.CommandLine;
using MmapKv.Cli.Commands;

namespace MmapKv.Cli;

/// <summary>Builds the command tree. Each command lives in Commands/ and takes the shared options from here.</summary>
internal static class CliCommands
{
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand(
            "mmapkv: inspect, edit, check, back up and benchmark MmapKv database files.\n" +
            "Exit codes: 0 ok, 1 check found problems or key not found, 2 usage or input error, 3 file not found, " +
            "4 corrupt database, 5 database locked, 6 other error, 130 interrupted.");
        root.Add(StatCommand.Create(context));
        root.Add(CheckCommand.Create(context));
        root.Add(KeyValueCommands.CreateGet(context));
        root.Add(KeyValueCommands.CreatePut(context));
        root.Add(KeyValueCommands.CreateDelete(context));
        root.Add(ScanCommand.Create(context));
        root.Add(TreesCommand.Create(context));
        root.Add(ReadersCommand.Create(context));
        root.Add(DumpCommand.Create(context));
        root.Add(LoadCommand.Create(context));
        root.Add(CopyCommand.Create(context));
        root.Add(BenchCommand.Create(context));
        return root;
    }

    public static Argument<string> FileArgument(string description = "The database file.") =>
        new("FILE") { Description = description };

    public static Option<string> TreeOption(string description = "A named tree instead of the default tree.") =>
        new("--tree", "-t") { Description = description, HelpName = "NAME" };

    /// <summary>
    /// <c>--create</c> for the commands that write: without it a missing file is an error (exit 3), so a mistyped
    /// name never silently becomes a new, empty database.
    /// </summary>
    public static Option<bool> CreateOption() =>
        new("--create") { Description = "Create the database file if it does not exist (without this, a missing file is an error)." };

    public static Option<string> FormatOption() =>
        new Option<string>("--format")
        {
            Description = "How keys and values are written, in arguments and in output: utf8 (default), hex or base64.",
            DefaultValueFactory = _ => "utf8",
            HelpName = "utf8|hex|base64",
        }.OnlyFrom(ByteFormats.Names);

    internal static Option<string> OnlyFrom(this Option<string> option, params string[] values)
    {
        option.AcceptOnlyFromAmong(values);
        return option;
    }
}
