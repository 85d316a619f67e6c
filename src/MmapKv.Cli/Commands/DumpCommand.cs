using System.CommandLine;
using System.Text;
using MmapKv.Cli.Lmdb;

namespace MmapKv.Cli.Commands;

/// <summary>
/// <c>dump FILE</c>: write trees in LMDB's mdb_dump text format, for <c>mdb_load</c> or <c>mmapkv load</c>: a
/// multimap tree as a dupsort section, a tree's key order as an <c>mmapkv_keyorder=</c> line (<see cref="DumpKeyOrder"/>).
/// </summary>
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
            "A multimap tree is written as a dupsort database (one line pair per key and value); a tree ordered other " +
            "than bytewise gets an mmapkv_keyorder= header line, which mmapkv load honours and mdb_load ignores. " +
            "Custom-ordered trees cannot be dumped. " +
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
            using var tx = db.BeginRead();
            bool everyTree = parse.GetValue(all);
            // What cannot be dumped is refused before the output file is created.
            var sections = Plan(db, tx, parse.GetValue(tree), everyTree);
            string? outPath = parse.GetValue(output);
            TextWriter? fileWriter = outPath is null ? null : new StreamWriter(DatabaseOpener.CreateOutputFile(outPath), new UTF8Encoding(false), 1 << 16);
            try
            {
                var writer = new MdbDumpWriter(fileWriter ?? context.Out, parse.GetValue(print),
                    MdbDumpWriter.SuggestMapSize(new FileInfo(db.Path).Length), db.PageSize);
                Dump(context, db, tx, sections, writer, everyTree, toStandardOutput: fileWriter is null);
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

    /// <summary>One tree to dump: its name (null: the default tree), kind, order, and entries or pairs (for the progress bar).</summary>
    private readonly record struct Section(string? Name, bool Multimap, KeyOrder Order, long Count);

    /// <summary>The trees to dump, in order; a missing or custom-ordered tree is an error before anything is written.</summary>
    private static List<Section> Plan(KvDatabase db, ReadTransaction tx, string? treeName, bool all)
    {
        var sections = new List<Section>();
        if (treeName is not null)
            sections.Add(Describe(tx, treeName) ?? throw new CliException(ExitCodes.NotFoundOrProblems, $"no tree named '{treeName}'"));
        else
        {
            sections.Add(new Section(null, false, KeyOrder.Bytewise, db.GetStats().Main.Entries)); // the count only sizes the progress bar
            if (all)
                foreach (string name in tx.GetTreeNames()) sections.Add(Describe(tx, name)!.Value);
        }
        // Refused before anything is written: a dump that left a tree out would look complete.
        foreach (var s in sections)
            if (s.Order == KeyOrder.Custom)
                throw new CliException(ExitCodes.Usage, $"tree '{s.Name}' is ordered by the application's own comparer, and the library walks such a tree " +
                    "only with that comparer, which mmapkv does not have; dump it from the application" + (all ? ", or dump the other trees one by one with --tree" : ""));
        return sections;
    }

    private static void Dump(CliContext context, KvDatabase db, ReadTransaction tx, List<Section> sections, MdbDumpWriter writer, bool all, bool toStandardOutput)
    {
        if (all) WarnAboutNameClashes(context, db, tx, sections);
        context.WithProgress(progress =>
        {
            var tasks = sections.Select(s => progress.AddTask(s.Name is null ? "default tree" : $"tree {s.Name}", s.Count, start: false)).ToList();
            for (int i = 0; i < sections.Count; i++)
            {
                var s = sections[i];
                tasks[i].Start();
                writer.BeginSection(s.Name, s.Order, s.Multimap);
                long n = s.Multimap ? WriteMultimap(context, tx.OpenMultiTree(s.Name!), writer, tasks[i]) : WritePlain(context, tx, s.Name, writer, tasks[i]);
                writer.EndSection();
                tasks[i].Finish();
            }
            return 0;
        }, outputBusy: toStandardOutput);
        if (writer.OversizedKeys > 0)
            context.Err.WriteLine($"warning: {writer.OversizedKeys} key(s) are longer than {MdbDumpWriter.LmdbMaxKeySize} bytes, LMDB's limit: mdb_load will refuse them");
        if (writer.OversizedDupValues > 0)
            context.Err.WriteLine($"warning: {writer.OversizedDupValues} multimap value(s) are longer than {MdbDumpWriter.LmdbMaxKeySize} bytes, " +
                "LMDB's limit for a dupsort database's values: mdb_load will refuse them");
        if (writer.EmptyDupValues > 0)
            context.Err.WriteLine($"warning: {writer.EmptyDupValues} multimap key(s) hold an empty value beside other values; LMDB keeps an empty value " +
                "only as a key's sole value, so mdb_load will fail on them or drop the empty value");
    }

    /// <summary>The named tree's kind, order and size; null when there is no such tree.</summary>
    private static Section? Describe(ReadTransaction tx, string name)
    {
        if (tx.IsMultiTree(name)) return new Section(name, true, KeyOrder.Bytewise, tx.OpenMultiTree(name).ValueCount);
        return tx.TryOpenTree(name, out var t) ? new Section(name, false, t.KeyOrder, t.Count) : null;
    }

    private static long WritePlain(CliContext context, ReadTransaction tx, string? name, MdbDumpWriter writer, IProgressTask task)
    {
        using var cursor = name is null ? tx.OpenCursor() : tx.OpenTree(name).OpenCursor();
        long n = 0;
        for (bool ok = cursor.First(); ok; ok = cursor.Next())
        {
            writer.WritePair(cursor.Key, cursor.Value);
            if ((++n & 0xFFF) == 0) Tick(context, task, n);
        }
        return n;
    }

    /// <summary>A multimap tree: one pair of lines per (key, value), by key then value, as mdb_dump writes a dupsort database.</summary>
    private static long WriteMultimap(CliContext context, KvMultiTree tree, MdbDumpWriter writer, IProgressTask task)
    {
        long n = 0;
        foreach (var pair in tree.Scan())
        {
            writer.WritePair(pair.Key, pair.Value);
            if ((++n & 0xFFF) == 0) Tick(context, task, n);
        }
        return n;
    }

    private static void Tick(CliContext context, IProgressTask task, long n)
    {
        context.Cancellation.ThrowIfCancellationRequested();
        task.Set(n);
    }

    /// <summary>
    /// LMDB keeps a named database's record in its main database under the name as key, so a default-tree key equal
    /// to a tree name makes mdb_load fail (MDB_INCOMPATIBLE). mmapkv load has no such limit.
    /// </summary>
    private static void WarnAboutNameClashes(CliContext context, KvDatabase db, ReadTransaction tx, List<Section> sections)
    {
        foreach (var s in sections)
        {
            if (s.Name is not { } name) continue;
            byte[] key = Encoding.UTF8.GetBytes(name);
            if (key.Length <= db.MaxKeySize && tx.TryGet(key, out _))
                context.Err.WriteLine($"warning: the default tree has a key equal to the tree name '{name}'; LMDB stores named databases as keys of its main database, so mdb_load will fail on it");
        }
    }
}
