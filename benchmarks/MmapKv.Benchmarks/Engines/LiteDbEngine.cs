using LiteDB;
using MmapKv.Benchmarks.Native;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// LiteDB (pure .NET document store), one collection of <c>BsonDocument { _id: binary key, v: binary value }</c>:
/// the key is the primary key, so the collection's own _id index is the only index (a separate key field with a
/// second index would cost a second index insert per put and a second lookup per get). Direct connection,
/// default journal (its log file, checkpointed into the data file): a transaction is <c>BeginTrans</c> …
/// <c>Commit</c> on the calling thread (LiteDB's transactions are per thread; writers on one collection serialize on
/// its lock). Puts are upserts. Reads run outside an explicit transaction (each query sees the last commit);
/// cursors are <c>Find(Query.GTE("_id", key))</c> over the _id index, in index order.
/// </summary>
internal sealed class LiteDbEngine(EngineSettings settings) : IEngine
{
    private LiteDatabase? _db;
    private ILiteCollection<BsonDocument>? _col;
    private string _dir = "";

    public string Id => "litedb";
    public string Name => "LiteDB";
    public string Version => typeof(LiteDatabase).Assembly.GetName().Version?.ToString(3) ?? "?";

    /// <summary>
    /// LiteDB 5 writes a commit's pages to its log file and fsyncs only at checkpoints and close: traced with
    /// strace, 200 one-insert commits made 1 fsync beyond open and close (benchmarks/flush-count.sh shows it), and
    /// 1,000 of them took less than a third of the time of 1,000 bare 4 KiB writes + fdatasync on the same disk.
    /// It has no setting that flushes per commit, so its durable write rows are n/a.
    /// </summary>
    public bool DurableCommits => !settings.Durable;

    private ILiteCollection<BsonDocument> Col => _col ?? throw new InvalidOperationException("LiteDB is not open.");

    public void Open(string directory)
    {
        _dir = directory;
        _db = new LiteDatabase(new ConnectionString
        {
            Filename = Path.Combine(directory, "data.litedb"),
            Connection = ConnectionType.Direct,
            // LiteDB caches pages itself; let it hold about the data (its default is 2,500 pages of 8 KiB... per
            // checkpoint; the cache grows on demand).
        });
        _db.CheckpointSize = 1000; // the default, stated: the log is copied into the data file every 1,000 pages
        _col = _db.GetCollection("kv");
        GC.KeepAlive(settings);
    }

    public void Close()
    {
        _db?.Dispose();
        _db = null;
        _col = null;
    }

    public void Dispose() => Close();

    public IWriteTxn BeginWrite()
    {
        if (!_db!.BeginTrans()) throw new InvalidOperationException("LiteDB: a transaction is already open on this thread.");
        return new Writer(_db, Col);
    }

    public IReadTxn BeginRead() => new Reader(Col);

    public long FileSize() => FileUsage.DirectoryBytes(_dir);

    private sealed class Writer(LiteDatabase db, ILiteCollection<BsonDocument> col) : IWriteTxn
    {
        private bool _open = true;

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
            col.Upsert(new BsonDocument { ["_id"] = new BsonValue(key.ToArray()), ["v"] = new BsonValue(value.ToArray()) });

        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(key, value);

        public bool Delete(ReadOnlySpan<byte> key) => col.Delete(new BsonValue(key.ToArray()));

        public void Commit()
        {
            _open = false;
            if (!db.Commit()) throw new InvalidOperationException("LiteDB: commit found no transaction.");
        }

        public void Dispose()
        {
            if (!_open) return;
            _open = false;
            db.Rollback();
        }
    }

    private sealed class Reader(ILiteCollection<BsonDocument> col) : IReadTxn
    {
        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            var doc = col.FindById(new BsonValue(key.ToArray()));
            if (doc is null) { value = default; return false; }
            value = doc["v"].AsBinary;
            return true;
        }

        public ICursor OpenCursor() => new Cursor(col);

        public void Dispose() { }
    }

    private sealed class Cursor(ILiteCollection<BsonDocument> col) : ICursor
    {
        private IEnumerator<BsonDocument>? _it;
        private byte[] _key = [], _value = [];

        private bool Start(IEnumerable<BsonDocument> docs)
        {
            _it?.Dispose();
            _it = docs.GetEnumerator();
            return Next();
        }

        public bool First() => Start(col.Find(Query.All("_id", Query.Ascending)));

        public bool Seek(ReadOnlySpan<byte> key) => Start(col.Find(Query.GTE("_id", new BsonValue(key.ToArray()))));

        public bool Next()
        {
            if (_it is null || !_it.MoveNext()) return false;
            var doc = _it.Current;
            _key = doc["_id"].AsBinary;
            _value = doc["v"].AsBinary;
            return true;
        }

        public ReadOnlySpan<byte> Key => _key;
        public ReadOnlySpan<byte> Value => _value;

        public void Dispose()
        {
            _it?.Dispose();
            _it = null;
        }
    }
}
