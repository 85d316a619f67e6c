namespace MmapKv.Cli;

/// <summary>
/// The process exit codes. They are part of the tool's interface (scripts test them), so a code never changes
/// meaning; src/MmapKv.Cli/README.md lists the same table.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command ran but the answer is "no": <c>check</c> found problems, or <c>get</c>/<c>del</c>
    /// found no such key (or tree).</summary>
    public const int NotFoundOrProblems = 1;

    /// <summary>The command line or the input is wrong: unknown option, missing argument, a bad <c>--format</c>,
    /// a key that is not valid hex/base64 or is too long, malformed dump text given to <c>load</c>.</summary>
    public const int Usage = 2;

    /// <summary>The database file (or an input file) does not exist.</summary>
    public const int FileNotFound = 3;

    /// <summary>The file is not an MmapKv database, is damaged, or has an incompatible format version.</summary>
    public const int Corrupt = 4;

    /// <summary>Another process (or another KvDatabase in this one) has the database open with
    /// <c>KvOptions.Exclusive</c>.</summary>
    public const int Locked = 5;

    /// <summary>Any other failure: an I/O error, a full disk, an existing copy destination, a bug.</summary>
    public const int Error = 6;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
