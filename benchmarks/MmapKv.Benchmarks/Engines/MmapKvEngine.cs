namespace MmapKv.Benchmarks.Engines;

/// <summary>MmapKv through its public API: Immediate commits for durable runs, Deferred otherwise.</summary>
internal sealed class MmapKvEngine(EngineSettings settings) : IEngine
{
    private KvDatabase? _db;
    private string _path = "";

    public string Id => "mmapkv";
    public string Name => "MmapKv";
    public string Version =>
        typeof(KvDatabase).Assembly.GetName().Version?.ToString(3) ?? "dev";

    private KvDatabase Db => _db ?? throw new InvalidOperationException("MmapKv is not open.");

    public void Open(string directory)
    {
        _path = Path.Combine(directory, "data.mkv");
        _db = KvDatabase.Open(_path, new KvOptions
        {
            MaxSize = settings.MapSize,
            Durability = settings.Durable ? Durability.Immediate : Durability.Deferred,
        });
    }

    public void Close()
    {
        _db?.Dispose();
        _db = null;
    }

    public void Dispose() => Close();

    public IWriteTxn BeginWrite() => new Writer(Db.BeginWrite());

    public IReadTxn BeginRead() => new Reader(Db.BeginRead());

    public long FileSize() => Native.FileUsage.AllocatedBytes(_path);

    public string? SelfCheck()
    {
        var report = Db.Check();
        return report.IsValid ? null : report.ToString();
    }

    private sealed class Writer(WriteTransaction tx) : IWriteTxn
    {
        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => tx.Put(key, value);
        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => tx.Put(key, value);
        public bool Delete(ReadOnlySpan<byte> key) => tx.Delete(key);
        public void Commit() => tx.Commit();
        public void Dispose() => tx.Dispose();
    }

    private sealed class Reader(ReadTransaction tx) : IReadTxn
    {
        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value) => tx.TryGet(key, out value);
        public ICursor OpenCursor() => new Cursor(tx.OpenCursor());
        public void Dispose() => tx.Dispose();
    }

    private sealed class Cursor(KvCursor c) : ICursor
    {
        public bool First() => c.First();
        public bool Seek(ReadOnlySpan<byte> key) => c.Seek(key);
        public bool Next() => c.Next();
        public ReadOnlySpan<byte> Key => c.Key;
        public ReadOnlySpan<byte> Value => c.Value;
        public void Dispose() => c.Dispose();
    }
}
