using LightningDB;
using MmapKv.Benchmarks.Native;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// LMDB through LightningDB, the NuGet wrapper, with the settings of <see cref="LmdbEngine"/> (default flags for
/// durable runs, NoSync for deferred ones, NoThreadLocalStorage, one unnamed database, same map size): the
/// difference to the "lmdb" column is LightningDB's managed layer. Its bundled linux-x64 liblmdb.so needs
/// glibc 2.38 and does not load on Debian 12, so <see cref="NativeLibraries"/> points LightningDB's "lmdb" import
/// at Debian's liblmdb.so.0, the library the raw binding uses.
/// </summary>
internal sealed class LightningDbEngine(EngineSettings settings) : IEngine
{
    private LightningEnvironment? _env;
    private LightningDatabase? _db;
    private string _dir = "";

    public string Id => "lightningdb";
    public string Name => "LightningDB";
    public string Version => typeof(LightningEnvironment).Assembly.GetName().Version?.ToString(3) ?? "?";

    private LightningEnvironment Env => _env ?? throw new InvalidOperationException("LightningDB is not open.");

    public void Open(string directory)
    {
        _dir = directory;
        long page = Environment.SystemPageSize;
        _env = new LightningEnvironment(directory, new EnvironmentConfiguration
        {
            MapSize = (settings.MapSize + page - 1) / page * page,
            MaxDatabases = 1,
            MaxReaders = 126,
        });
        var flags = EnvironmentOpenFlags.NoThreadLocalStorage | (settings.Durable ? EnvironmentOpenFlags.None : EnvironmentOpenFlags.NoSync);
        _env.Open(flags);
        using var txn = _env.BeginTransaction();
        _db = txn.OpenDatabase(configuration: new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
        Check(txn.Commit(), "commit");
    }

    public void Close()
    {
        if (_env is null) return;
        if (!settings.Durable) _env.Flush(true);
        _db?.Dispose();
        _env.Dispose();
        _env = null;
        _db = null;
    }

    public void Dispose() => Close();

    public IWriteTxn BeginWrite() => new Writer(Env.BeginTransaction(), _db!);

    public IReadTxn BeginRead() => new Reader(Env.BeginTransaction(TransactionBeginFlags.ReadOnly), _db!);

    public long FileSize() => FileUsage.DirectoryBytes(_dir);

    private static void Check(MDBResultCode rc, string what)
    {
        if (rc != MDBResultCode.Success) throw new InvalidOperationException($"LightningDB {what}: {rc}");
    }

    private sealed class Writer(LightningTransaction txn, LightningDatabase db) : IWriteTxn
    {
        private bool _done;

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Check(txn.Put(db, key, value, PutOptions.None), "put");

        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Check(txn.Put(db, key, value, PutOptions.AppendData), "put(append)");

        public bool Delete(ReadOnlySpan<byte> key)
        {
            var rc = txn.Delete(db, key);
            if (rc == MDBResultCode.NotFound) return false;
            Check(rc, "delete");
            return true;
        }

        public void Commit()
        {
            _done = true;
            try { Check(txn.Commit(), "commit"); }
            finally { txn.Dispose(); }
        }

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            txn.Abort();
            txn.Dispose();
        }
    }

    private sealed class Reader(LightningTransaction txn, LightningDatabase db) : IReadTxn
    {
        private Cursor? _cursor;

        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            var (rc, _, v) = txn.Get(db, key);
            if (rc == MDBResultCode.NotFound) { value = default; return false; }
            Check(rc, "get");
            value = v.AsSpan();
            return true;
        }

        public ICursor OpenCursor() => _cursor = new Cursor(txn.CreateCursor(db));

        public void Dispose()
        {
            _cursor?.Dispose();
            txn.Abort();
            txn.Dispose();
        }
    }

    private sealed class Cursor(LightningCursor c) : ICursor
    {
        private MDBValue _key, _value;

        private bool Take((MDBResultCode rc, MDBValue key, MDBValue value) r)
        {
            if (r.rc == MDBResultCode.NotFound) return false;
            Check(r.rc, "cursor");
            (_key, _value) = (r.key, r.value);
            return true;
        }

        public bool First() => Take(c.First());

        public bool Next() => Take(c.Next());

        public bool Seek(ReadOnlySpan<byte> key)
        {
            var rc = c.SetRange(key);
            if (rc == MDBResultCode.NotFound) return false;
            Check(rc, "set range");
            return Take(c.GetCurrent());
        }

        public ReadOnlySpan<byte> Key => _key.AsSpan();
        public ReadOnlySpan<byte> Value => _value.AsSpan();

        public void Dispose() => c.Dispose();
    }
}
