using System.CommandLine;
using System.Text;
using MmapKv.Cli.Lmdb;

namespace MmapKv.Cli.Commands;

/// <summary><c>dump FILE</c>: write trees in LMDB's mdb_dump text format, for <c>mdb_load</c> or <c>mmapkv load</c>.</summary>
internal static class DumpCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var tree = CliCommands.TreeOption("Dump this named tree (as a section with database=NAME) instead of the default tree.");
        var all = new Option<bool>("--all", "-a") { Description = "Dump the default tree, then every named tree, each as its own section." };
        var print = new Option<bool>("--print", "-p") { Description = "Use the print format (printable ASCII as is, \\HH escapes) instead of hex bytevalue." };
        var output = new Option<string>("--output", "-o") { Description = "Write to this file instead of standard output.", HelpName = "PATH" };
        var command = new Command("dump",
            "Write the default tree (or --tree, or --all) in LMDB's mdb_dump text format, which mdb_load reads. " +
            "LMDB keys are at most 511 bytes: mdb_load refuses longer ones (a warning counts them).")
        {
            file, tree, all, print, output,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(tree) is not null && result.GetResult(all) is not null)
                result.AddError("--tree and --all cannot be combined.");
        });
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            using var db = DatabaseOpener.OpenRead(path);
            string? outPath = parse.GetValue(output);
            TextWriter? fileWriter = outPath is null ? null : new StreamWriter(DatabaseOpener.CreateOutputFile(outPath), new UTF8Encoding(false), 1 << 16);
            try
            {
                var writer = new MdbDumpWriter(fileWriter ?? context.Out, parse.GetValue(print),
                    MdbDumpWriter.SuggestMapSize(new FileInfo(db.Path).Length), db.PageSize);
                Dump(context, db, writer, parse.GetValue(tree), parse.GetValue(all), toStandardOutput: fileWriter is null);
                fileWriter?.Flush();
                return ExitCodes.Ok;
            }
            finally
            {
                fileWriter?.Dispose();
            }
        });
        return command;
    }

    internal static void Dump(CliContext context, KvDatabase db, MdbDumpWriter writer, string? treeName, bool all, bool toStandardOutput)
    {
        using var tx = db.BeginRead();
        var sections = new List<(string? Name, long Count)>();
        if (treeName is not null)
        {
            if (!tx.TryOpenTree(treeName, out var t)) throw new CliException(ExitCodes.NotFoundOrProblems, $"no tree named '{treeName}'");
            sections.Add((treeName, t.Count));
        }
        else
        {
            sections.Add((null, db.GetStats().Main.Entries)); // the count only sizes the progress bar
            if (all)
                foreach (string name in tx.GetTreeNames()) sections.Add((name, tx.OpenTree(name).Count));
        }
        if (all) WarnAboutNameClashes(context, db, tx, sections);
        context.WithProgress(progress =>
        {
            var tasks = sections.Select(s => progress.AddTask(s.Name is null ? "default tree" : $"tree {s.Name}", s.Count, start: false)).ToList();
            for (int i = 0; i < sections.Count; i++)
            {
                var (name, _) = sections[i];
                tasks[i].Start();
                using var cursor = name is null ? tx.OpenCursor() : tx.OpenTree(name).OpenCursor();
                writer.BeginSection(name);
                long n = 0;
                for (bool ok = cursor.First(); ok; ok = cursor.Next())
                {
                    writer.WritePair(cursor.Key, cursor.Value);
                    if ((++n & 0xFFF) == 0)
                    {
                        context.Cancellation.ThrowIfCancellationRequested();
                        tasks[i].Set(n);
                    }
                }
                writer.EndSection();
                tasks[i].Finish();
            }
            return 0;
        }, outputBusy: toStandardOutput);
        if (writer.OversizedKeys > 0)
            context.Err.WriteLine($"warning: {writer.OversizedKeys} key(s) are longer than {MdbDumpWriter.LmdbMaxKeySize} bytes, LMDB's limit: mdb_load will refuse them");
    }

    /// <summary>
    /// LMDB keeps a named database's record in its main database under the name as key, so a default-tree key equal
    /// to a tree name makes mdb_load fail (MDB_INCOMPATIBLE). mmapkv load has no such limit.
    /// </summary>
    private static void WarnAboutNameClashes(CliContext context, KvDatabase db, ReadTransaction tx, List<(string? Name, long Count)> sections)
    {
        foreach (var (name, _) in sections)
        {
            if (name is null) continue;
            byte[] key = Encoding.UTF8.GetBytes(name);
            if (key.Length <= db.MaxKeySize && tx.TryGet(key, out _))
                context.Err.WriteLine($"warning: the default tree has a key equal to the tree name '{name}'; LMDB stores named databases as keys of its main database, so mdb_load will fail on it");
        }
    }
}
