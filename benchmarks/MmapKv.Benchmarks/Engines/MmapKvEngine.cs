using System.Diagnostics.Metrics;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// MmapKv through its public API: Immediate commits for durable runs, Deferred otherwise. Its commits and flushes
/// are counted from the public "MmapKv" meter (mmapkv.commits, mmapkv.flushes, mmapkv.flush.duration), as any
/// OpenTelemetry user would read them, for this engine's database only.
/// </summary>
internal sealed class MmapKvEngine(EngineSettings settings) : IEngine
{
    private KvDatabase? _db;
    private string _path = "";
    private MeterListener? _listener;
    private readonly object _gate = new(); // the meter's callbacks run on the committing threads
    private FlushTally _tally;

    public string Id => "mmapkv";
    public string Name => "MmapKv";
    public string Version =>
        typeof(KvDatabase).Assembly.GetName().Version?.ToString(3) ?? "dev";

    private KvDatabase Db => _db ?? throw new InvalidOperationException("MmapKv is not open.");

    public void Open(string directory)
    {
        _path = Path.Combine(directory, "data.mkv");
        Listen(Path.GetFullPath(_path));
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
        _listener?.Dispose();
        _listener = null;
    }

    public FlushTally? FlushCounts()
    {
        lock (_gate) return _tally;
    }

    private void Listen(string fullPath)
    {
        _listener?.Dispose();
        lock (_gate) _tally = default;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "MmapKv" && instrument.Name is "mmapkv.commits" or "mmapkv.flushes" or "mmapkv.flush.duration")
                    listener.EnableMeasurementEvents(instrument);
            },
        };
        // Each measurement names its database (tag db.namespace, the full path): other engines' and other runs'
        // MmapKv databases in this process are not counted.
        bool Ours(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
                if (tag.Key == "db.namespace") return tag.Value as string == fullPath;
            return false;
        }
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (!Ours(tags)) return;
            lock (_gate) _tally += instrument.Name == "mmapkv.flushes" ? new FlushTally(0, value, 0) : new FlushTally(value, 0, 0);
        });
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            if (!Ours(tags)) return;
            lock (_gate) _tally += new FlushTally(0, 0, seconds);
        });
        _listener.Start();
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
