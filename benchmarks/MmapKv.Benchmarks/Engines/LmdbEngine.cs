using MmapKv.Benchmarks.Native;
using static MmapKv.Benchmarks.Native.Lmdb;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// LMDB through its C API. Durable runs use the default flags (a commit fsyncs data, then the meta page);
/// deferred runs add MDB_NOSYNC. The writemap variant adds MDB_WRITEMAP (writes go through the map, no malloc'd
/// dirty pages). MDB_NOTLS lets .NET threads hold read transactions without tying reader slots to threads.
/// </summary>
internal sealed unsafe class LmdbEngine(EngineSettings settings, bool writeMap) : IEngine
{
    private nint _env;
    private uint _dbi;
    private string _dir = "";

    public string Id => writeMap ? "lmdb-writemap" : "lmdb";
    public string Name => writeMap ? "LMDB (WRITEMAP)" : "LMDB";
    public string Version => Lmdb.Version();

    public void Open(string directory)
    {
        _dir = directory;
        Check(mdb_env_create(out _env), "mdb_env_create");
        // Map size: a multiple of the OS page, comfortably above the data (it is only address space).
        long page = Environment.SystemPageSize;
        Check(mdb_env_set_mapsize(_env, (nuint)((settings.MapSize + page - 1) / page * page)), "mdb_env_set_mapsize");
        Check(mdb_env_set_maxdbs(_env, 1), "mdb_env_set_maxdbs");
        Check(mdb_env_set_maxreaders(_env, 126), "mdb_env_set_maxreaders");
        uint flags = MDB_NOTLS | (settings.Durable ? 0 : MDB_NOSYNC) | (writeMap ? MDB_WRITEMAP : 0);
        Check(mdb_env_open(_env, directory, flags, Convert.ToInt32("644", 8)), "mdb_env_open");
        Check(mdb_txn_begin(_env, 0, 0, out nint txn), "mdb_txn_begin");
        Check(mdb_dbi_open(txn, null, MDB_CREATE, out _dbi), "mdb_dbi_open");
        Check(mdb_txn_commit(txn), "mdb_txn_commit");
    }

    public void Close()
    {
        if (_env == 0) return;
        if (!settings.Durable) mdb_env_sync(_env, 1);
        mdb_env_close(_env);
        _env = 0;
    }

    public void Dispose() => Close();

    public IWriteTxn BeginWrite()
    {
        Check(mdb_txn_begin(_env, 0, 0, out nint txn), "mdb_txn_begin");
        return new Writer(txn, _dbi);
    }

    public IReadTxn BeginRead()
    {
        Check(mdb_txn_begin(_env, 0, MDB_RDONLY, out nint txn), "mdb_txn_begin(RDONLY)");
        return new Reader(txn, _dbi);
    }

    public long FileSize() => FileUsage.DirectoryBytes(_dir);

    private sealed class Writer(nint txn, uint dbi) : IWriteTxn
    {
        private nint _txn = txn;

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(key, value, 0);

        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(key, value, MDB_APPEND);

        private void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, uint flags)
        {
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                var kv = new MDB_val(k, key.Length);
                var vv = new MDB_val(v, value.Length);
                Check(mdb_put(_txn, dbi, &kv, &vv, flags), "mdb_put");
            }
        }

        public bool Delete(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key)
            {
                var kv = new MDB_val(k, key.Length);
                int rc = mdb_del(_txn, dbi, &kv, null);
                if (rc == MDB_NOTFOUND) return false;
                Check(rc, "mdb_del");
                return true;
            }
        }

        public void Commit()
        {
            nint t = _txn;
            _txn = 0;
            Check(mdb_txn_commit(t), "mdb_txn_commit"); // frees the transaction even on failure
        }

        public void Dispose()
        {
            if (_txn != 0) mdb_txn_abort(_txn);
            _txn = 0;
        }
    }

    private sealed class Reader(nint txn, uint dbi) : IReadTxn
    {
        private nint _txn = txn;
        private Cursor? _cursor;

        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            fixed (byte* k = key)
            {
                var kv = new MDB_val(k, key.Length);
                MDB_val vv;
                int rc = mdb_get(_txn, dbi, &kv, &vv);
                if (rc == MDB_NOTFOUND) { value = default; return false; }
                Check(rc, "mdb_get");
                value = vv.Span;
                return true;
            }
        }

        public ICursor OpenCursor()
        {
            Check(mdb_cursor_open(_txn, dbi, out nint c), "mdb_cursor_open");
            return _cursor = new Cursor(c);
        }

        public void Dispose()
        {
            _cursor?.Dispose();
            if (_txn != 0) mdb_txn_abort(_txn);
            _txn = 0;
        }
    }

    private sealed class Cursor(nint cursor) : ICursor
    {
        private nint _cursor = cursor;
        private MDB_val _key, _value;

        private bool Move(CursorOp op)
        {
            MDB_val k = _key, v;
            int rc = mdb_cursor_get(_cursor, &k, &v, op);
            if (rc == MDB_NOTFOUND) return false;
            Check(rc, "mdb_cursor_get");
            _key = k;
            _value = v;
            return true;
        }

        public bool First() => Move(CursorOp.First);

        public bool Next() => Move(CursorOp.Next);

        public bool Seek(ReadOnlySpan<byte> key)
        {
            fixed (byte* p = key)
            {
                _key = new MDB_val(p, key.Length); // MDB_SET_RANGE replaces it with the found key
                return Move(CursorOp.SetRange);
            }
        }

        public ReadOnlySpan<byte> Key => _key.Span;
        public ReadOnlySpan<byte> Value => _value.Span;

        public void Dispose()
        {
            if (_cursor != 0) mdb_cursor_close(_cursor);
            _cursor = 0;
        }
    }
}
