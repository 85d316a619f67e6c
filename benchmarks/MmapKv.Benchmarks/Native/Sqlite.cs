using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Native;

/// <summary>The part of SQLite's C API the harness uses (libsqlite3.so.0 from Debian's libsqlite3-0).</summary>
internal static unsafe partial class Sqlite
{
    private const string Lib = NativeLibraries.Sqlite;

    public const int SQLITE_OK = 0;
    public const int SQLITE_ROW = 100;
    public const int SQLITE_DONE = 101;
    public const int SQLITE_OPEN_READWRITE = 0x2;
    public const int SQLITE_OPEN_CREATE = 0x4;
    public const int SQLITE_OPEN_NOMUTEX = 0x8000;

    /// <summary>SQLITE_STATIC: the bound bytes outlive the statement step, so SQLite need not copy them.</summary>
    public static readonly nint Static = 0;

    [LibraryImport(Lib)] public static partial nint sqlite3_libversion();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sqlite3_open_v2(string filename, out nint db, int flags, nint vfs);
    [LibraryImport(Lib)] public static partial int sqlite3_close_v2(nint db);
    [LibraryImport(Lib)] public static partial nint sqlite3_errmsg(nint db);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sqlite3_exec(nint db, string sql, nint callback, nint arg, out nint errmsg);
    [LibraryImport(Lib)] public static partial void sqlite3_free(nint p);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sqlite3_prepare_v2(nint db, string sql, int bytes, out nint stmt, out nint tail);
    [LibraryImport(Lib)] public static partial int sqlite3_bind_blob(nint stmt, int index, byte* data, int n, nint destructor);
    [LibraryImport(Lib)] public static partial int sqlite3_step(nint stmt);
    [LibraryImport(Lib)] public static partial int sqlite3_reset(nint stmt);
    [LibraryImport(Lib)] public static partial int sqlite3_finalize(nint stmt);
    [LibraryImport(Lib)] public static partial byte* sqlite3_column_blob(nint stmt, int column);
    [LibraryImport(Lib)] public static partial int sqlite3_column_bytes(nint stmt, int column);
    [LibraryImport(Lib)] public static partial int sqlite3_changes(nint db);

    public static void Check(nint db, int rc, string what)
    {
        if (rc != SQLITE_OK) Throw(db, rc, what);
    }

    public static void Throw(nint db, int rc, string what) =>
        throw new InvalidOperationException($"SQLite {what} failed ({rc}): {Marshal.PtrToStringUTF8(sqlite3_errmsg(db))}");

    public static void Exec(nint db, string sql)
    {
        int rc = sqlite3_exec(db, sql, 0, 0, out nint err);
        if (rc != SQLITE_OK)
        {
            string message = Marshal.PtrToStringUTF8(err) ?? "";
            sqlite3_free(err);
            throw new InvalidOperationException($"SQLite '{sql}' failed ({rc}): {message}");
        }
    }

    public static nint Prepare(nint db, string sql)
    {
        Check(db, sqlite3_prepare_v2(db, sql, -1, out nint stmt, out _), $"prepare '{sql}'");
        return stmt;
    }

    public static string Version() => Marshal.PtrToStringUTF8(sqlite3_libversion()) ?? "?";
}
