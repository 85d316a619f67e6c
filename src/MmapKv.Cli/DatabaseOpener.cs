namespace MmapKv.Cli;

/// <summary>Opens database files for the commands, turning the common mistakes into one-line errors.</summary>
internal static class DatabaseOpener
{
    /// <summary>The library's default address-space reservation; a larger file gets its own size.</summary>
    private const long DefaultMaxSize = 256L << 30;

    /// <summary>
    /// Permission bits for every file the tool creates: the library's default for new database files (owner only).
    /// A dump or a copy holds the same data as the database, so it gets no wider access.
    /// </summary>
    public static int CreateMode { get; } = new KvOptions().CreateMode;

    /// <summary>Creates (or truncates) an output file such as a dump; a new file gets <see cref="CreateMode"/>.</summary>
    public static FileStream CreateOutputFile(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = (UnixFileMode)CreateMode;
        return new FileStream(path, options);
    }

    /// <summary>Opens an existing database read-only (a shared lock: other readers may have it open too).</summary>
    public static KvDatabase OpenRead(string path) => Open(path, readOnly: true, create: false);

    /// <summary>
    /// Opens a database for writing (an exclusive lock), for a command that has <c>--create</c>: the file is created
    /// only when <paramref name="create"/> is set, and the error for a missing file says so.
    /// </summary>
    public static KvDatabase OpenWrite(string path, bool create) =>
        Open(path, readOnly: false, create, missingHint: " (pass --create to create a new database)");

    /// <summary>Opens an existing database for writing, for a command that has nothing to do in a new one (del).</summary>
    public static KvDatabase OpenExistingWrite(string path) => Open(path, readOnly: false, create: false);

    private static KvDatabase Open(string path, bool readOnly, bool create, string missingHint = "")
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new CliException(ExitCodes.FileNotFound, $"{path} is a directory, not a database file");
        long length = 0;
        if (File.Exists(full)) length = new FileInfo(full).Length;
        else if (!create) throw new CliException(ExitCodes.FileNotFound, $"database file not found: {path}{missingHint}");
        else if (Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir))
            throw new CliException(ExitCodes.FileNotFound, $"directory not found: {dir}");
        // A tool that shows and copies data verifies every page it reads: a damaged page is an error (exit 4),
        // never output. The cost, a CRC per page per transaction, does not matter at a command's scale.
        return KvDatabase.Open(full, new KvOptions { ReadOnly = readOnly, MaxSize = Math.Max(DefaultMaxSize, length), VerifyChecksums = true, CreateMode = CreateMode });
    }
}
