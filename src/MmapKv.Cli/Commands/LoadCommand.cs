using System.CommandLine;
using System.Globalization;
using System.Text;
using MmapKv.Cli.Lmdb;

namespace MmapKv.Cli.Commands;

/// <summary>
/// <c>load FILE</c>: read mdb_dump text (from <c>mdb_dump</c>, <c>mdb_dump -p</c>, <c>mdb_dump -a</c> or
/// <c>mmapkv dump</c>) into a database, all of it in one transaction: malformed input loads nothing.
/// </summary>
internal static class LoadCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument("The database file; it must exist unless --create is given.");
        var tree = CliCommands.TreeOption("Load the unnamed section(s) into this named tree instead of the default tree. Sections with database=NAME always go to tree NAME.");
        var input = new Option<string>("--input", "-i") { Description = "Read this file instead of standard input.", HelpName = "PATH" };
        var noOverwrite = new Option<bool>("--no-overwrite", "-N") { Description = "Keep existing values; skip keys that are already present (like mdb_load -N)." };
        var create = CliCommands.CreateOption();
        var command = new Command("load",
            "Load LMDB mdb_dump text (bytevalue or print format, one or more sections) from standard input or --input, " +
            "in one transaction. Example: mdb_dump -a ENVDIR | mmapkv load --create new.mkv")
        {
            file, tree, input, noOverwrite, create,
        };
        command.SetAction(parse =>
        {
            string? inPath = parse.GetValue(input);
            if (inPath is not null && !File.Exists(inPath))
                throw new CliException(ExitCodes.FileNotFound, $"input file not found: {inPath}");
            long? inputLength = inPath is null ? null : new FileInfo(inPath).Length;
            // Opened before reading, so a missing database (no --create) is reported before waiting for input.
            using var db = DatabaseOpener.OpenWrite(parse.GetValue(file)!, parse.GetValue(create));
            if (inPath is null && context.InputIsTerminal)
                context.Err.WriteLine("reading mdb_dump text from the terminal (end with Ctrl+D); pipe it in or use --input PATH");
            using var reader = inPath is null ? context.OpenInput() : new StreamReader(inPath, Encoding.Latin1, false, 1 << 16);
            var counts = Load(context, db, new MdbDumpReader(reader), parse.GetValue(tree), parse.GetValue(noOverwrite), inputLength);
            foreach (var (name, loaded, skipped) in counts)
            {
                string where = name is null ? "default tree" : $"tree '{name}'";
                string skip = skipped > 0 ? $" ({N(skipped)} existing kept)" : "";
                context.Out.WriteLine($"loaded {N(loaded)} {(loaded == 1 ? "entry" : "entries")} into the {where}{skip}");
            }
            if (counts.Count == 0) context.Out.WriteLine("loaded nothing: the input has no sections");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Loads every section in one write transaction; returns per-target counts in input order.</summary>
    internal static List<(string? Tree, long Loaded, long Skipped)> Load(CliContext context, KvDatabase db, MdbDumpReader reader,
        string? unnamedTree, bool noOverwrite, long? inputLength)
    {
        var counts = new List<(string? Tree, long Loaded, long Skipped)>();
        using var tx = db.BeginWrite();
        context.WithProgress(progress =>
        {
            var task = progress.AddTask("loading", inputLength);
            long total = 0;
            while (reader.ReadHeader() is { } section)
            {
                foreach (string warning in reader.Warnings) context.Err.WriteLine($"warning: {warning}");
                reader.Warnings.Clear();
                string? target = section.Database ?? unnamedTree;
                if (section.IgnoredFlags.Count > 0)
                    context.Err.WriteLine($"warning: input line {section.HeaderLine}: {string.Join(", ", section.IgnoredFlags)} ignored; " +
                        "keys are loaded as bytes and MmapKv orders them bytewise");
                KvTree? t = target is null ? null : tx.OpenTree(target);
                long loaded = 0, skipped = 0;
                while (reader.ReadPair(out byte[] key, out byte[] value))
                {
                    if (key.Length == 0 || key.Length > db.MaxKeySize)
                        throw new UsageException($"input line {reader.LineNumber - 1}: the key is {key.Length} bytes; keys must be 1 to {db.MaxKeySize} bytes");
                    if (noOverwrite && (t is null ? tx.TryGet(key, out _) : t.TryGet(key, out _)))
                    {
                        skipped++;
                        continue;
                    }
                    if (t is null) tx.Put(key, value);
                    else t.Put(key, value);
                    loaded++;
                    if ((++total & 0xFFF) == 0)
                    {
                        context.Cancellation.ThrowIfCancellationRequested();
                        if (inputLength is null) task.Describe($"loading: {N(total)} entries");
                        else task.Set(reader.CharsRead);
                    }
                }
                counts.Add((target, loaded, skipped));
            }
            task.Finish();
            return 0;
        });
        tx.Commit(Durability.Immediate);
        return counts;
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
