using System.CommandLine;
using System.Globalization;

namespace MmapKv.Cli.Commands;

/// <summary><c>stat FILE</c>: the shape and size of the newest commit, from <see cref="KvDatabase.GetStats"/>.</summary>
internal static class StatCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliCommands.FileArgument();
        var command = new Command("stat", "Show depth, pages by kind, entries per tree, free pages, file and page size, and transaction ids.") { file };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            using var db = DatabaseOpener.OpenRead(path);
            Write(context.Out, Path.GetFullPath(path), db.GetStats());
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static void Write(TextWriter o, string path, KvStats s)
    {
        var trees = new List<TreeStats> { s.Main };
        trees.AddRange(s.Trees);
        long branch = trees.Sum(t => t.BranchPages), leaf = trees.Sum(t => t.LeafPages), overflow = trees.Sum(t => t.OverflowPages);
        const long metaPages = 2;
        // What is left holds the catalog tree (the names of the named trees), which KvStats does not break out.
        long catalog = s.PageCount - metaPages - branch - leaf - overflow - s.FreePages - s.FreeMapPages - s.SavepointPages;
        var rows = new List<(string, string)>
        {
            ("file", path),
            ("file size", $"{N(s.FileSize)} bytes ({Size(s.FileSize)})"),
            ("page size", $"{N(s.PageSize)} bytes"),
            ("pages", $"{N(s.PageCount)} ({Size(s.PageCount * s.PageSize)}, up to the high-water mark)"),
            ("  meta", N(metaPages)),
            ("  branch", N(branch)),
            ("  leaf", N(leaf)),
            ("  overflow", N(overflow)),
            ("  catalog", N(catalog)),
            ("  free", N(s.FreePages)),
            ("    held", $"{N(s.HeldFreePages)} (free but still protected by a reader or the quarantine)"),
            ("  free map", N(s.FreeMapPages)),
            ("  savepoints", s.Savepoints.Count == 0 ? "0" : $"{N(s.SavepointPages)} (kept for {N(s.Savepoints.Count)} persistent savepoint(s))"),
            ("depth", N(trees.Max(t => t.Depth))),
            ("trees", $"{N(s.Trees.Count)} named, plus the default tree"),
            ("entries", N(s.TotalEntries)),
            ("last txn id", N(s.TxnId)),
            ("durable txn id", N(s.DurableTxnId)),
        };
        int width = rows.Max(r => r.Item1.Length) + 2;
        foreach (var (name, value) in rows) o.WriteLine(name.PadRight(width) + value);
        o.WriteLine();
        var table = new TextTable("tree", "entries", "depth", "branch", "leaf", "overflow");
        table.RightAlign(1, 2, 3, 4, 5);
        foreach (var t in trees)
            table.Add(t.Name ?? "(default)", N(t.Entries), N(t.Depth), N(t.BranchPages), N(t.LeafPages), N(t.OverflowPages));
        table.Write(o);
        if (s.Savepoints.Count == 0) return;
        o.WriteLine();
        var sps = new TextTable("savepoint", "created (UTC)", "entries", "pages kept alone");
        sps.RightAlign(0, 2, 3);
        foreach (var p in s.Savepoints)
            sps.Add(p.Id.ToString(CultureInfo.InvariantCulture), p.Created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), N(p.Entries), N(p.ExclusivePages));
        sps.Write(o);
    }

    internal static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    internal static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : v.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[u];
    }
}
