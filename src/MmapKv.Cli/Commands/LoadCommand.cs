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
            "in one transaction. A dupsort section loads into a multimap tree, and a tree is created with the key order " +
            "of its section's mmapkv_keyorder= line. Example: mdb_dump -a ENVDIR | mmapkv load --create new.mkv")
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
            foreach (var (name, multimap, loaded, skipped) in counts)
            {
                if (multimap)
                {
                    string already = skipped > 0 ? $" ({N(skipped)} already present)" : "";
                    context.Out.WriteLine($"loaded {N(loaded)} {(loaded == 1 ? "pair" : "pairs")} into the multimap tree '{name}'{already}");
                    continue;
                }
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
    internal static List<LoadCount> Load(CliContext context, KvDatabase db, MdbDumpReader reader,
        string? unnamedTree, bool noOverwrite, long? inputLength)
    {
        var counts = new List<LoadCount>();
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
                        "keys (and a multimap's values) are loaded as bytes and MmapKv orders them bytewise");
                var into = LoadTarget.Open(tx, target, section, db.MaxKeySize);
                long loaded = 0, skipped = 0;
                while (reader.ReadPair(out byte[] key, out byte[] value))
                {
                    // The pair's key line: the value line was read last.
                    if (into.Add(key, value, noOverwrite, reader.LineNumber - 1)) loaded++;
                    else skipped++;
                    if ((++total & 0xFFF) == 0)
                    {
                        context.Cancellation.ThrowIfCancellationRequested();
                        if (inputLength is null) task.Describe($"loading: {N(total)} entries");
                        else task.Set(reader.CharsRead);
                    }
                }
                counts.Add(new LoadCount(target, into.IsMultimap, loaded, skipped));
            }
            task.Finish();
            return 0;
        });
        tx.Commit(Durability.Immediate);
        return counts;
    }

    /// <summary>What one section loaded: entries, or for a multimap tree (key, value) pairs.</summary>
    internal readonly record struct LoadCount(string? Tree, bool Multimap, long Loaded, long Skipped);

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
