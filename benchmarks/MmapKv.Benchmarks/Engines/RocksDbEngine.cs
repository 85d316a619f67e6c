using MmapKv.Benchmarks.Native;
using static MmapKv.Benchmarks.Native.RocksDb;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// RocksDB through its C API. A transaction is a WriteBatch written atomically, with sync=true for durable runs
/// (concurrent writers are merged by RocksDB's own WAL group commit). Reads use a snapshot. Tables have a full
/// bloom filter (10 bits per key) and an LRU block cache about the size of the data; compression is off because
/// the values are random bytes (Snappy would only spend time failing to compress them).
/// </summary>
internal sealed unsafe class RocksDbEngine(EngineSettings settings) : IEngine
{
    private nint _db, _options, _tableOptions, _cache, _filter, _writeOptions;
    private string _dir = "";

    public string Id => "rocksdb";
    public string Name => "RocksDB";
    public string Version => NativeLibraries.PackageVersion("librocksdb-dev") is { } v
        ? v.Split('-')[0]
        : (NativeLibraries.TryLoad(NativeLibraries.RocksDb, out _, out string so) ? so : "?");

    public void Open(string directory)
    {
        _dir = directory;
        _options = rocksdb_options_create();
        rocksdb_options_set_create_if_missing(_options, 1);
        rocksdb_options_increase_parallelism(_options, Environment.ProcessorCount);
        rocksdb_options_set_compression(_options, NoCompression);
        _tableOptions = rocksdb_block_based_options_create();
        _filter = rocksdb_filterpolicy_create_bloom_full(10);
        rocksdb_block_based_options_set_filter_policy(_tableOptions, _filter); // the table options own it now
        _cache = rocksdb_cache_create_lru((nuint)Math.Max(8L << 20, settings.CacheBytes));
        rocksdb_block_based_options_set_block_cache(_tableOptions, _cache);
        rocksdb_options_set_block_based_table_factory(_options, _tableOptions);
        _db = rocksdb_open(_options, directory, out nint err);
        Check(err, "rocksdb_open");
        _writeOptions = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(_writeOptions, settings.Durable ? (byte)1 : (byte)0);
    }

    public void Close()
    {
        if (_db == 0) return;
        rocksdb_close(_db);
        rocksdb_writeoptions_destroy(_writeOptions);
        rocksdb_options_destroy(_options);
        rocksdb_block_based_options_destroy(_tableOptions);
        rocksdb_cache_destroy(_cache);
        _db = 0;
    }

    public void Dispose() => Close();

    public IWriteTxn BeginWrite() => new Writer(_db, _writeOptions);

    /// <summary>Waits (up to a minute) until no memtable flush or compaction is running or pending.</summary>
    public void WaitIdle()
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            ulong busy = 0;
            foreach (string p in (ReadOnlySpan<string>)["rocksdb.num-running-flushes", "rocksdb.num-running-compactions", "rocksdb.mem-table-flush-pending", "rocksdb.compaction-pending"])
                if (rocksdb_property_int(_db, p, out ulong v) == 0) busy += v;
            if (busy == 0) return;
            Thread.Sleep(50);
        }
    }

    public IReadTxn BeginRead() => new Reader(_db);

    /// <summary>SST files, WAL, MANIFEST and OPTIONS; the LOG files are diagnostics, not data.</summary>
    public long FileSize() => FileUsage.DirectoryBytes(_dir, name => name.StartsWith("LOG", StringComparison.Ordinal));

    private sealed class Writer(nint db, nint writeOptions) : IWriteTxn
    {
        private nint _batch = rocksdb_writebatch_create();

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            fixed (byte* k = key)
            fixed (byte* v = value)
                rocksdb_writebatch_put(_batch, k, (nuint)key.Length, v, (nuint)value.Length);
        }

        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(key, value);

        public bool Delete(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key) rocksdb_writebatch_delete(_batch, k, (nuint)key.Length);
            return true; // a blind tombstone: RocksDB does not look the key up
        }

        public void Commit()
        {
            rocksdb_write(db, writeOptions, _batch, out nint err);
            Check(err, "rocksdb_write");
            Dispose();
        }

        public void Dispose()
        {
            if (_batch != 0) rocksdb_writebatch_destroy(_batch);
            _batch = 0;
        }
    }

    private sealed class Reader : IReadTxn
    {
        private readonly nint _db, _snapshot, _readOptions;
        private nint _slice;
        private Cursor? _cursor;
        private bool _disposed;

        public Reader(nint db)
        {
            _db = db;
            _snapshot = rocksdb_create_snapshot(db);
            _readOptions = rocksdb_readoptions_create();
            rocksdb_readoptions_set_snapshot(_readOptions, _snapshot);
        }

        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            if (_slice != 0) rocksdb_pinnableslice_destroy(_slice); // the previous value stays valid until here
            nint err;
            fixed (byte* k = key) _slice = rocksdb_get_pinned(_db, _readOptions, k, (nuint)key.Length, out err);
            Check(err, "rocksdb_get_pinned");
            if (_slice == 0) { value = default; return false; }
            byte* v = rocksdb_pinnableslice_value(_slice, out nuint length);
            value = new ReadOnlySpan<byte>(v, (int)length);
            return true;
        }

        public ICursor OpenCursor() => _cursor = new Cursor(rocksdb_create_iterator(_db, _readOptions));

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _cursor?.Dispose();
            if (_slice != 0) rocksdb_pinnableslice_destroy(_slice);
            _slice = 0;
            rocksdb_readoptions_destroy(_readOptions);
            rocksdb_release_snapshot(_db, _snapshot);
        }
    }

    private sealed class Cursor(nint iterator) : ICursor
    {
        private nint _it = iterator;

        public bool First()
        {
            rocksdb_iter_seek_to_first(_it);
            return Valid();
        }

        public bool Seek(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key) rocksdb_iter_seek(_it, k, (nuint)key.Length);
            return Valid();
        }

        public bool Next()
        {
            rocksdb_iter_next(_it);
            return Valid();
        }

        private bool Valid()
        {
            if (rocksdb_iter_valid(_it) != 0) return true;
            rocksdb_iter_get_error(_it, out nint err);
            Check(err, "iterator");
            return false;
        }

        public ReadOnlySpan<byte> Key
        {
            get { byte* p = rocksdb_iter_key(_it, out nuint n); return new(p, (int)n); }
        }

        public ReadOnlySpan<byte> Value
        {
            get { byte* p = rocksdb_iter_value(_it, out nuint n); return new(p, (int)n); }
        }

        public void Dispose()
        {
            if (_it != 0) rocksdb_iter_destroy(_it);
            _it = 0;
        }
    }
}
