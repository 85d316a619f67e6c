namespace MmapKv.Cli;

/// <summary>Turns an exception into an exit code and a one-line message: no stack traces for expected failures.</summary>
internal static class ErrorMapping
{
    public static (int Code, string Message) Describe(Exception e) => e switch
    {
        CliException c => (c.ExitCode, c.Message),
        FileNotFoundException f => (ExitCodes.FileNotFound, f.FileName is { } name ? $"file not found: {name}" : f.Message),
        DirectoryNotFoundException d => (ExitCodes.FileNotFound, d.Message),
        IncompatibleFormatException i => (ExitCodes.Corrupt, $"incompatible database format: {i.Message}"),
        CorruptDatabaseException c => (ExitCodes.Corrupt, $"corrupt database: {c.Message}"),
        DatabaseLockedException l => (ExitCodes.Locked, $"database is locked: {l.Message}"),
        DatabaseFullException f => (ExitCodes.Error, $"database full: {f.Message}"),
        StorageFailedException s => (ExitCodes.Error, $"storage failure: {s.Message}"),
        OperationCanceledException => (ExitCodes.Interrupted, "interrupted"),
        // The library raises ArgumentException for bad input it was handed: an empty or too-long key.
        ArgumentException a => (ExitCodes.Usage, a.Message),
        // ... and InvalidOperationException for a tree used as what it is not: a multimap tree given to get/put/del,
        // a custom-ordered tree without its comparer.
        InvalidOperationException o => (ExitCodes.Usage, o.Message),
        UnauthorizedAccessException u => (ExitCodes.Error, u.Message),
        IOException io => (ExitCodes.Error, io.Message),
        _ => (ExitCodes.Error, $"unexpected {e.GetType().Name}: {e.Message} (set MMAPKV_DEBUG=1 for a stack trace)"),
    };
}
