using System.Collections.Concurrent;
using MmapKv.Benchmarks.Native;
using static MmapKv.Benchmarks.Native.Sqlite;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// SQLite through its C API: <c>kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID</c> in WAL mode,
/// synchronous=FULL for durable runs and OFF for deferred ones, prepared statements bound without copies.
/// One connection writes (a lock serializes writers, as SQLite would with busy waits, only faster); each read
/// transaction borrows a connection of its own from a pool, so reads on several threads run in parallel.
/// Page cache and mmap are sized like the data, matching the page-cache-resident state of the other engines.
/// </summary>
internal sealed unsafe class SqliteEngine(EngineSettings settings) : IEngine
{
    private string _path = "";
    private Connection? _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentBag<Connection> _readers = new();

    public string Id => "sqlite";
    public string Name => "SQLite";
    public string Version => Sqlite.Version();

    public void Open(string directory)
    {
        _path = Path.Combine(directory, "data.sqlite");
        _writer = new Connection(_path, settings, writer: true);
    }

    public void Close()
    {
        while (_readers.TryTake(out var r)) r.Dispose();
        _writer?.Dispose(); // the last connection to close checkpoints the WAL into the database and deletes it
        _writer = null;
    }

    public void Dispose()
    {
        Close();
        _writeLock.Dispose();
    }

    public IWriteTxn BeginWrite()
    {
        _writeLock.Wait();
        try
        {
            var c = _writer!;
            c.Run(c.Begin);
            return new Writer(this, c);
        }
        catch
        {
            _writeLock.Release();
            throw;
        }
    }

    public IReadTxn BeginRead()
    {
        if (!_readers.TryTake(out var c)) c = new Connection(_path, settings, writer: false);
        c.Run(c.Begin);
        return new Reader(this, c);
    }

    public long FileSize() => FileUsage.DirectoryBytes(Path.GetDirectoryName(_path)!);

    /// <summary>A connection and its prepared statements.</summary>
    private sealed class Connection : IDisposable
    {
        public readonly nint Db;
        public readonly nint Begin, Commit, Rollback, Insert, Delete, Get, Seek, Scan;

        public Connection(string path, EngineSettings settings, bool writer)
        {
            int rc = sqlite3_open_v2(path, out Db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, 0);
            Check(Db, rc, "open");
            long cacheKiB = Math.Max(2048, settings.CacheBytes / 1024);
            Exec(Db, "PRAGMA journal_mode=WAL");
            Exec(Db, settings.Durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
            Exec(Db, $"PRAGMA cache_size=-{cacheKiB}");
            Exec(Db, $"PRAGMA mmap_size={settings.CacheBytes * 2}");
            if (writer) Exec(Db, "CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID");
            Begin = Prepare(Db, writer ? "BEGIN IMMEDIATE" : "BEGIN");
            Commit = Prepare(Db, "COMMIT");
            Rollback = Prepare(Db, "ROLLBACK");
            Insert = Prepare(Db, "INSERT OR REPLACE INTO kv(key, value) VALUES(?1, ?2)");
            Delete = Prepare(Db, "DELETE FROM kv WHERE key = ?1");
            Get = Prepare(Db, "SELECT value FROM kv WHERE key = ?1");
            Seek = Prepare(Db, "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key");
            Scan = Prepare(Db, "SELECT key, value FROM kv ORDER BY key");
        }

        /// <summary>Runs a statement without results to completion.</summary>
        public void Run(nint stmt)
        {
            int rc = sqlite3_step(stmt);
            sqlite3_reset(stmt);
            if (rc != SQLITE_DONE) Throw(Db, rc, "step");
        }

        public void ResetReads()
        {
            sqlite3_reset(Get);
            sqlite3_reset(Seek);
            sqlite3_reset(Scan);
        }

        public void Dispose()
        {
            foreach (nint s in (ReadOnlySpan<nint>)[Begin, Commit, Rollback, Insert, Delete, Get, Seek, Scan]) sqlite3_finalize(s);
            sqlite3_close_v2(Db);
        }
    }

    private sealed class Writer(SqliteEngine engine, Connection c) : IWriteTxn
    {
        private bool _open = true;

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                sqlite3_bind_blob(c.Insert, 1, k, key.Length, Static);
                sqlite3_bind_blob(c.Insert, 2, v, value.Length, Static);
                c.Run(c.Insert);
            }
        }

        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(key, value);

        public bool Delete(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key)
            {
                sqlite3_bind_blob(c.Delete, 1, k, key.Length, Static);
                c.Run(c.Delete);
            }
            return sqlite3_changes(c.Db) > 0;
        }

        public void Commit()
        {
            _open = false;
            try { c.Run(c.Commit); }
            finally { engine._writeLock.Release(); }
        }

        public void Dispose()
        {
            if (!_open) return;
            _open = false;
            try { c.Run(c.Rollback); }
            finally { engine._writeLock.Release(); }
        }
    }

    private sealed class Reader(SqliteEngine engine, Connection c) : IReadTxn
    {
        private bool _open = true;

        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            nint s = c.Get;
            sqlite3_reset(s); // the previous result stays valid until here
            fixed (byte* k = key)
            {
                sqlite3_bind_blob(s, 1, k, key.Length, Static);
                int rc = sqlite3_step(s);
                if (rc == SQLITE_DONE) { value = default; return false; }
                if (rc != SQLITE_ROW) Throw(c.Db, rc, "get");
            }
            value = new ReadOnlySpan<byte>(sqlite3_column_blob(s, 0), sqlite3_column_bytes(s, 0));
            return true;
        }

        public ICursor OpenCursor() => new Cursor(c);

        public void Dispose()
        {
            if (!_open) return;
            _open = false;
            c.ResetReads();
            c.Run(c.Commit);
            engine._readers.Add(c);
        }
    }

    /// <summary>A cursor is a running SELECT: First and Seek (re)start one, Next steps it.</summary>
    private sealed class Cursor(Connection c) : ICursor
    {
        private nint _stmt;
        private byte[]? _seekKey; // the bound key must outlive the statement's steps

        public bool First()
        {
            sqlite3_reset(_stmt != 0 ? _stmt : c.Scan);
            _stmt = c.Scan;
            return Step();
        }

        public bool Seek(ReadOnlySpan<byte> key)
        {
            if (_stmt != 0) sqlite3_reset(_stmt);
            _stmt = c.Seek;
            if (_seekKey is null || _seekKey.Length < key.Length) _seekKey = GC.AllocateArray<byte>(Math.Max(64, key.Length), pinned: true);
            key.CopyTo(_seekKey);
            fixed (byte* k = _seekKey) sqlite3_bind_blob(_stmt, 1, k, key.Length, Static);
            return Step();
        }

        public bool Next() => Step();

        private bool Step()
        {
            int rc = sqlite3_step(_stmt);
            if (rc == SQLITE_ROW) return true;
            if (rc != SQLITE_DONE) Throw(c.Db, rc, "cursor step");
            return false;
        }

        public ReadOnlySpan<byte> Key => new(sqlite3_column_blob(_stmt, 0), sqlite3_column_bytes(_stmt, 0));
        public ReadOnlySpan<byte> Value => new(sqlite3_column_blob(_stmt, 1), sqlite3_column_bytes(_stmt, 1));

        public void Dispose()
        {
            if (_stmt != 0) sqlite3_reset(_stmt);
            _stmt = 0;
        }
    }
}
