using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Native;

/// <summary>The part of LMDB 0.9's C API (lmdb.h) the harness uses, a LightningDB-like thin binding.</summary>
internal static unsafe partial class Lmdb
{
    private const string Lib = NativeLibraries.Lmdb;

    // Environment flags (mdb_env_open).
    public const uint MDB_NOSUBDIR = 0x4000;
    public const uint MDB_NOSYNC = 0x10000;
    public const uint MDB_RDONLY = 0x20000;
    public const uint MDB_WRITEMAP = 0x80000;
    public const uint MDB_NOTLS = 0x200000;
    // Database flags (mdb_dbi_open).
    public const uint MDB_CREATE = 0x40000;
    // Write flags (mdb_put).
    public const uint MDB_APPEND = 0x20000;

    public const int MDB_SUCCESS = 0;
    public const int MDB_NOTFOUND = -30798;

    /// <summary>MDB_cursor_op.</summary>
    public enum CursorOp
    {
        First = 0,
        GetCurrent = 4,
        Last = 6,
        Next = 8,
        Prev = 12,
        Set = 15,
        SetKey = 16,
        SetRange = 17,
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MDB_val
    {
        public nuint Size;
        public byte* Data;

        public MDB_val(byte* data, int size)
        {
            Data = data;
            Size = (nuint)size;
        }

        public readonly ReadOnlySpan<byte> Span => new(Data, (int)Size);
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MDB_envinfo
    {
        public nint MapAddr;
        public nuint MapSize;
        public nuint LastPgno;
        public nuint LastTxnId;
        public uint MaxReaders;
        public uint NumReaders;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MDB_stat
    {
        public uint PageSize;
        public uint Depth;
        public nuint BranchPages;
        public nuint LeafPages;
        public nuint OverflowPages;
        public nuint Entries;
    }

    [LibraryImport(Lib)] public static partial nint mdb_version(out int major, out int minor, out int patch);
    [LibraryImport(Lib)] public static partial nint mdb_strerror(int err);
    [LibraryImport(Lib)] public static partial int mdb_env_create(out nint env);
    [LibraryImport(Lib)] public static partial int mdb_env_set_mapsize(nint env, nuint size);
    [LibraryImport(Lib)] public static partial int mdb_env_set_maxdbs(nint env, uint dbs);
    [LibraryImport(Lib)] public static partial int mdb_env_set_maxreaders(nint env, uint readers);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mdb_env_open(nint env, string path, uint flags, int mode);
    [LibraryImport(Lib)] public static partial void mdb_env_close(nint env);
    [LibraryImport(Lib)] public static partial int mdb_env_sync(nint env, int force);
    [LibraryImport(Lib)] public static partial int mdb_env_info(nint env, out MDB_envinfo info);
    [LibraryImport(Lib)] public static partial int mdb_env_stat(nint env, out MDB_stat stat);
    [LibraryImport(Lib)] public static partial int mdb_txn_begin(nint env, nint parent, uint flags, out nint txn);
    [LibraryImport(Lib)] public static partial int mdb_txn_commit(nint txn);
    [LibraryImport(Lib)] public static partial void mdb_txn_abort(nint txn);
    [LibraryImport(Lib)] public static partial int mdb_dbi_open(nint txn, byte* name, uint flags, out uint dbi);
    [LibraryImport(Lib)] public static partial int mdb_stat(nint txn, uint dbi, out MDB_stat stat);
    [LibraryImport(Lib)] public static partial int mdb_get(nint txn, uint dbi, MDB_val* key, MDB_val* data);
    [LibraryImport(Lib)] public static partial int mdb_put(nint txn, uint dbi, MDB_val* key, MDB_val* data, uint flags);
    [LibraryImport(Lib)] public static partial int mdb_del(nint txn, uint dbi, MDB_val* key, MDB_val* data);
    [LibraryImport(Lib)] public static partial int mdb_cursor_open(nint txn, uint dbi, out nint cursor);
    [LibraryImport(Lib)] public static partial void mdb_cursor_close(nint cursor);
    [LibraryImport(Lib)] public static partial int mdb_cursor_get(nint cursor, MDB_val* key, MDB_val* data, CursorOp op);

    /// <summary>Throws on any LMDB error code (the caller handles MDB_NOTFOUND itself where it is expected).</summary>
    public static void Check(int rc, string call)
    {
        if (rc != MDB_SUCCESS) Throw(rc, call);
    }

    private static void Throw(int rc, string call) =>
        throw new InvalidOperationException($"LMDB {call} failed: {Marshal.PtrToStringUTF8(mdb_strerror(rc))} ({rc})");

    public static string Version()
    {
        mdb_version(out int major, out int minor, out int patch);
        return $"{major}.{minor}.{patch}";
    }
}
