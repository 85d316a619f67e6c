using System.CommandLine;

namespace MmapKv.Cli.Commands;

/// <summary><c>get</c>, <c>put</c> and <c>del</c>: one key at a time, in the default tree or <c>--tree</c>.</summary>
internal static class KeyValueCommands
{
    public static Command CreateGet(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var key = new Argument<string>("KEY") { Description = "The key, written as --format says." };
        var tree = CliCommands.TreeOption();
        var format = CliCommands.FormatOption();
        var command = new Command("get", "Print the value of KEY. Exits 1 if there is no such key (or tree).") { file, key, tree, format };
        command.SetAction(parse =>
        {
            var f = ByteFormats.Parse(parse.GetValue(format));
            byte[] k = ByteFormats.Decode(parse.GetValue(key)!, f, "KEY");
            string? treeName = parse.GetValue(tree);
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            CheckKeyLength(db, k);
            using var tx = db.BeginRead();
            ReadOnlySpan<byte> value;
            bool found;
            if (treeName is null) found = tx.TryGet(k, out value);
            else if (tx.TryOpenTree(treeName, out var t)) found = t.TryGet(k, out value);
            else throw new CliException(ExitCodes.NotFoundOrProblems, $"no tree named '{treeName}'");
            if (!found) throw new CliException(ExitCodes.NotFoundOrProblems, "key not found");
            context.Out.WriteLine(ByteFormats.Encode(value, f));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreatePut(CliContext context)
    {
        var file = CliCommands.FileArgument("The database file; it must exist unless --create is given.");
        var key = new Argument<string>("KEY") { Description = "The key, written as --format says." };
        var value = new Argument<string>("VALUE") { Description = "The value, written as --format says." };
        var tree = CliCommands.TreeOption("A named tree instead of the default tree; created if it does not exist.");
        var format = CliCommands.FormatOption();
        var create = CliCommands.CreateOption();
        var command = new Command("put", "Set KEY to VALUE (inserting or overwriting) in one durable commit.") { file, key, value, tree, format, create };
        command.SetAction(parse =>
        {
            var f = ByteFormats.Parse(parse.GetValue(format));
            byte[] k = ByteFormats.Decode(parse.GetValue(key)!, f, "KEY");
            byte[] v = ByteFormats.Decode(parse.GetValue(value)!, f, "VALUE");
            string? treeName = parse.GetValue(tree);
            using var db = DatabaseOpener.OpenWrite(parse.GetValue(file)!, parse.GetValue(create));
            CheckKeyLength(db, k);
            using var tx = db.BeginWrite();
            if (treeName is null) tx.Put(k, v);
            else tx.OpenTree(treeName).Put(k, v);
            tx.Commit(Durability.Immediate);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreateDelete(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var key = new Argument<string>("KEY") { Description = "The key, written as --format says." };
        var tree = CliCommands.TreeOption();
        var format = CliCommands.FormatOption();
        var command = new Command("del", "Delete KEY in one durable commit. Exits 1 if there is no such key (or tree).") { file, key, tree, format };
        command.SetAction(parse =>
        {
            var f = ByteFormats.Parse(parse.GetValue(format));
            byte[] k = ByteFormats.Decode(parse.GetValue(key)!, f, "KEY");
            string? treeName = parse.GetValue(tree);
            using var db = DatabaseOpener.OpenExistingWrite(parse.GetValue(file)!);
            CheckKeyLength(db, k);
            using var tx = db.BeginWrite();
            bool deleted;
            if (treeName is null) deleted = tx.Delete(k);
            else if (tx.TryOpenTree(treeName, out var t)) deleted = t.Delete(k);
            else throw new CliException(ExitCodes.NotFoundOrProblems, $"no tree named '{treeName}'");
            if (!deleted) throw new CliException(ExitCodes.NotFoundOrProblems, "key not found");
            tx.Commit(Durability.Immediate);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Says which limit a key breaks before a write transaction starts (the library's message is terser).</summary>
    internal static void CheckKeyLength(KvDatabase db, ReadOnlySpan<byte> key)
    {
        if (key.Length == 0) throw new UsageException("the key is empty; keys must be 1 byte or longer");
        if (key.Length > db.MaxKeySize)
            throw new UsageException($"the key is {key.Length} bytes; this database allows at most {db.MaxKeySize}");
    }
}
