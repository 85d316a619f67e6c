// Mode for the DebugSpans tests (tests/MmapKv.Tests/DebugSpansTests.cs):
//   MmapKv.CrashChild --debug-spans <db path> <on|off> <case>
// opens the database with KvOptions.DebugSpans on or off, takes a span, ends its transaction (or, for
// "after-write", writes in it), prints "TOOK <first byte>", then uses the span: the misuse DebugSpans exists to
// catch. With DebugSpans on the process must die with an access violation there; with it off it reads or writes
// the map silently (the bug), prints "SURVIVED <byte>" and exits 0.
using MmapKv;

internal static class DebugSpansMode
{
    public static bool TryRun(string[] args)
    {
        if (args.Length < 4 || args[0] != "--debug-spans") return false;
        var options = new KvOptions { DebugSpans = args[2] == "on" };
        if (long.TryParse(Environment.GetEnvironmentVariable("MMAPKV_TEST_MAX_SIZE"), out long max)) options = options with { MaxSize = max };
        using var db = KvDatabase.Open(args[1], options);
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "value"u8);
            tx.Commit();
        }
        byte seen = args[3] switch
        {
            "read-after-dispose" => ReadAfterDispose(db),
            "cursor-after-dispose" => CursorAfterDispose(db),
            "scan-after-dispose" => ScanAfterDispose(db),
            "after-write" => AfterWrite(db),
            "reserve-after-commit" => ReserveAfterCommit(db),
            _ => throw new ArgumentException($"unknown case {args[3]}"),
        };
        Console.WriteLine($"SURVIVED {seen}");
        return true;
    }

    private static byte ReadAfterDispose(KvDatabase db)
    {
        ReadOnlySpan<byte> value;
        using (var tx = db.BeginRead()) tx.TryGet("k"u8, out value);
        return Use(value);
    }

    private static byte CursorAfterDispose(KvDatabase db)
    {
        ReadOnlySpan<byte> value;
        using (var tx = db.BeginRead())
        {
            var cursor = tx.OpenCursor();
            cursor.First();
            value = cursor.Value;
        }
        return Use(value);
    }

    private static byte ScanAfterDispose(KvDatabase db)
    {
        ReadOnlySpan<byte> key = default;
        using (var tx = db.BeginRead())
            foreach (var e in tx.Scan()) key = e.Key;
        return Use(key);
    }

    private static byte AfterWrite(KvDatabase db)
    {
        using var tx = db.BeginWrite();
        tx.TryGet("k"u8, out var value);
        tx.Put("other"u8, "x"u8); // ends the span's lifetime in a write transaction
        return Use(value);
    }

    private static byte ReserveAfterCommit(KvDatabase db)
    {
        Span<byte> reserved;
        using (var tx = db.BeginWrite())
        {
            reserved = tx.Reserve("r"u8, 8);
            reserved.Fill((byte)'a');
            tx.Commit();
        }
        Console.WriteLine($"TOOK {reserved.Length}");
        Console.Out.Flush();
        reserved[0] = (byte)'z'; // writes into a committed page when unguarded
        return reserved[0];
    }

    private static byte Use(ReadOnlySpan<byte> span)
    {
        Console.WriteLine($"TOOK {span.Length}");
        Console.Out.Flush();
        return span[0];
    }
}
