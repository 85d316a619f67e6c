using System.Buffers.Binary;
using System.Globalization;
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
        var prefix = new Option<string>("--prefix") { Description = "Only keys that start with P (not on Int64/UInt64 trees).", HelpName = "P" };
        var from = new Option<string>("--from") { Description = "Only keys from A on, in the tree's order (a number on an Int64/UInt64 tree).", HelpName = "A" };
        var to = new Option<string>("--to") { Description = "Only keys before B (exclusive), in the tree's order (a number on an Int64/UInt64 tree).", HelpName = "B" };
        var reverse = new Option<bool>("--reverse", "-r") { Description = "Largest key first." };
        var limit = new Option<long?>("--limit", "-n") { Description = "Stop after N entries.", HelpName = "N" };
        var keysOnly = new Option<bool>("--keys-only", "-k") { Description = "Print keys only." };
        var command = new Command("scan",
            "Print entries in key order as KEY<TAB>VALUE lines (for a multimap tree, one line per key and value, " +
            "in order of key then value). --from, --to and --reverse follow the tree's key order: on a Reverse tree --from " +
            "is the bytewise-largest key; on an Int64 or UInt64 tree keys print, and bounds are given, as numbers. In utf8 format, backslash, tab, newline, other " +
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
            string? prefixText = parse.GetValue(prefix), fromText = parse.GetValue(from), toText = parse.GetValue(to);
            // The bounds are read in the order of the tree they bound (numbers for an integer tree).
            KeyRange Range(KeyOrder order, string? name) => new()
            {
                Order = order,
                Prefix = BoundParser.Parse(prefixText, "--prefix", order, f, name),
                From = BoundParser.Parse(fromText, "--from", order, f, name),
                To = BoundParser.Parse(toText, "--to", order, f, name),
            };
            long max = parse.GetValue(limit) ?? long.MaxValue;
            bool back = parse.GetValue(reverse), onlyKeys = parse.GetValue(keysOnly);
            string? treeName = parse.GetValue(tree);
            // Bounds that are bytes in any order are checked before the file is opened, as before.
            if (treeName is null) Range(KeyOrder.Bytewise, null);
            using var db = DatabaseOpener.OpenRead(parse.GetValue(file)!);
            using var tx = db.BeginRead();
            if (treeName is not null && tx.IsMultiTree(treeName))
                return ScanMulti(context, tx.OpenMultiTree(treeName), Range(KeyOrder.Bytewise, treeName), f, back, max, onlyKeys);
            KvCursor cursor;
            var order = KeyOrder.Bytewise;
            KeyRange range;
            if (treeName is null)
            {
                range = Range(order, null);
                cursor = tx.OpenCursor();
            }
            else if (tx.TryOpenTree(treeName, out var t))
            {
                order = t.KeyOrder;
                if (order == KeyOrder.Custom)
                    throw new CliException(ExitCodes.Usage, $"tree '{treeName}' is ordered by the application's own comparer; mmapkv cannot order it");
                range = Range(order, treeName);
                cursor = t.OpenCursor();
            }
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
                    string key = FormatKey(cursor.Key, order, f);
                    if (onlyKeys) o.WriteLine(key);
                    else o.WriteLine($"{key}\t{ByteFormats.EncodeField(cursor.Value, f)}");
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>A multimap tree: its decoded (key, value) pairs, filtered on the key by the range.</summary>
    private static int ScanMulti(CliContext context, KvMultiTree tree, KeyRange range, ByteFormat f, bool back, long max, bool onlyKeys)
    {
        var o = context.Out;
        long n = 0;
        var scan = tree.Scan();
        foreach (var (key, value) in back ? scan.Reverse() : scan)
        {
            if (n >= max) break;
            if (!range.Contains(key)) continue;
            if ((++n & 0xFFF) == 0) context.Cancellation.ThrowIfCancellationRequested();
            if (onlyKeys) o.WriteLine(ByteFormats.EncodeField(key, f));
            else o.WriteLine($"{ByteFormats.EncodeField(key, f)}\t{ByteFormats.EncodeField(value, f)}");
        }
        return ExitCodes.Ok;
    }

    /// <summary>Keys of an integer-ordered tree print as their numbers; others in the chosen byte format.</summary>
    private static string FormatKey(ReadOnlySpan<byte> key, KeyOrder order, ByteFormat format) => order switch
    {
        KeyOrder.Int64 when key.Length == 8 => BinaryPrimitives.ReadInt64LittleEndian(key).ToString(CultureInfo.InvariantCulture),
        KeyOrder.UInt64 when key.Length == 8 => BinaryPrimitives.ReadUInt64LittleEndian(key).ToString(CultureInfo.InvariantCulture),
        _ => ByteFormats.EncodeField(key, format),
    };
}
