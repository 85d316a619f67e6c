using System.CommandLine;

namespace MmapKv.Cli.Commands;

/// <summary><c>scan FILE</c>: entries in key order (or reverse), filtered by prefix or range, one per line.</summary>
internal static class ScanCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var tree = CliCommands.TreeOption();
        var format = CliCommands.FormatOption();
        var prefix = new Option<string>("--prefix") { Description = "Only keys that start with P.", HelpName = "P" };
        var from = new Option<string>("--from") { Description = "Only keys >= A.", HelpName = "A" };
        var to = new Option<string>("--to") { Description = "Only keys < B (exclusive).", HelpName = "B" };
        var reverse = new Option<bool>("--reverse", "-r") { Description = "Largest key first." };
        var limit = new Option<long?>("--limit", "-n") { Description = "Stop after N entries.", HelpName = "N" };
        var keysOnly = new Option<bool>("--keys-only", "-k") { Description = "Print keys only." };
        var command = new Command("scan",
            "Print entries in key order as KEY<TAB>VALUE lines. In utf8 format, backslash, tab, newline, other " +
            "control bytes and bytes that are not UTF-8 are escaped (\\\\ \\t \\n \\xHH); use hex or base64 for binary data.")
        {
            file, tree, format, prefix, from, to, reverse, limit, keysOnly,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(prefix) is not null && (result.GetResult(from) is not null || result.GetResult(to) is not null))
                result.AddError("--prefix cannot be combined with --from or --to.");
        });
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long?>() is < 0) result.AddError("--limit must be 0 or more.");
        });
        command.SetAction(parse =>
        {
            var f = ByteFormats.Parse(parse.GetValue(format));
            var range = new KeyRange
            {
                Prefix = Bytes(parse.GetValue(prefix), f, "--prefix"),
                From = Bytes(parse.GetValue(from), f, "--from"),
                To = Bytes(parse.GetValue(to), f, "--to"),
            };
            long max = parse.GetValue(limit) ?? long.MaxValue;
            bool back = parse.GetValue(reverse), onlyKeys = parse.GetValue(keysOnly);
            string? treeName = parse.GetValue(tree);
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            using var tx = db.BeginRead();
            KvCursor cursor;
            if (treeName is null) cursor = tx.OpenCursor();
            else if (tx.TryOpenTree(treeName, out var t)) cursor = t.OpenCursor();
            else throw new CliException(ExitCodes.NotFoundOrProblems, $"no tree named '{treeName}'");
            using (cursor)
            {
                var o = context.Out;
                long n = 0;
                for (bool ok = back ? range.Last(cursor, db.MaxKeySize) : range.First(cursor, db.MaxKeySize);
                     ok && n < max && range.Contains(cursor.Key);
                     ok = back ? cursor.Prev() : cursor.Next())
                {
                    if ((++n & 0xFFF) == 0) context.Cancellation.ThrowIfCancellationRequested();
                    if (onlyKeys) o.WriteLine(ByteFormats.EncodeField(cursor.Key, f));
                    else o.WriteLine($"{ByteFormats.EncodeField(cursor.Key, f)}\t{ByteFormats.EncodeField(cursor.Value, f)}");
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static byte[]? Bytes(string? text, ByteFormat format, string what)
    {
        if (text is null) return null;
        byte[] bytes = ByteFormats.Decode(text, format, what);
        // An empty bound bounds nothing: every key has the empty prefix and is >= the empty key.
        if (bytes.Length == 0 && what != "--to") return null;
        return bytes;
    }
}
