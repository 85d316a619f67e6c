using System.Runtime.InteropServices;
using MmapKv.Benchmarks.Native;
using ZoneTree;
using ZoneTree.AbstractFileStream;
using ZoneTree.Comparers;
using ZoneTree.Options;
using ZoneTree.Serializers;

namespace MmapKv.Benchmarks.Engines;

/// <summary>
/// ZoneTree (pure .NET LSM tree), keys and values as <c>byte[]</c> with its lexicographic byte-array comparer,
/// write-ahead log in <c>WriteAheadLogMode.Sync</c>. ZoneTree has no multi-key transaction on the plain tree and its
/// "Sync" log only write()s each entry (FileStream.Flush(false)): nothing fsyncs before Dispose. For durable runs the
/// harness gives it a file stream provider whose Flush() also fsyncs (Flush(true)) the log file, on the thread of a
/// one-put transaction only; so a one-key commit is durable when it returns, and multi-key transactions, which
/// ZoneTree cannot make atomic, are reported n/a (<see cref="AtomicDurableBatches"/>). A transaction's first put is
/// held until the second put or the commit, so a one-put transaction knows it is one.
/// </summary>
internal sealed class ZoneTreeEngine(EngineSettings settings) : IEngine
{
    private IZoneTree<byte[], byte[]>? _tree;
    private IMaintainer? _maintainer;
    private string _dir = "";

    public string Id => "zonetree";
    public string Name => "ZoneTree";
    public string Version => typeof(IZoneTree<,>).Assembly.GetName().Version?.ToString(3) ?? "?";

    /// <summary>ZoneTree writes each put to its log on its own: a multi-key transaction is not atomic.</summary>
    public bool AtomicDurableBatches => !settings.Durable;

    private IZoneTree<byte[], byte[]> Tree => _tree ?? throw new InvalidOperationException("ZoneTree is not open.");

    public void Open(string directory)
    {
        _dir = directory;
        _tree = new ZoneTreeFactory<byte[], byte[]>(new SyncingFileStreamProvider())
            .SetComparer(new BytesLexicographicComparerAscending())
            .SetKeySerializer(new BytesSerializer())
            .SetValueSerializer(new BytesSerializer())
            .SetIsDeletedDelegate((in byte[] _, in byte[] v) => v is null || v.Length == 0)
            .SetMarkValueDeletedDelegate((ref byte[] v) => v = [])
            .SetDataDirectory(Path.Combine(directory, "data"))
            .SetWriteAheadLogDirectory(Path.Combine(directory, "wal"))
            .ConfigureWriteAheadLogOptions(o => o.WriteAheadLogMode = WriteAheadLogMode.Sync)
            .Configure(o => o.Logger.LogLevel = ZoneTree.Logger.LogLevel.Warning)
            .OpenOrCreate();
        _maintainer = _tree.CreateMaintainer();
    }

    public void Close()
    {
        if (_tree is null) return;
        _maintainer!.WaitForBackgroundThreads();
        _maintainer.Dispose();
        _tree.Dispose();
        _tree = null;
        _maintainer = null;
    }

    public void Dispose() => Close();

    public void WaitIdle() => _maintainer?.WaitForBackgroundThreads();

    public IWriteTxn BeginWrite() => new Writer(Tree, settings.Durable);

    public IReadTxn BeginRead() => new Reader(Tree);

    public long FileSize() => FileUsage.DirectoryBytes(_dir);

    private sealed class Writer(IZoneTree<byte[], byte[]> tree, bool durable) : IWriteTxn
    {
        private byte[]? _heldKey, _heldValue; // the first put, until we know whether the transaction has one
        private bool _many;

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            if (!_many && _heldKey is null)
            {
                _heldKey = key.ToArray();
                _heldValue = value.ToArray();
                return;
            }
            FlushHeld();
            _many = true;
            tree.Upsert(key.ToArray(), value.ToArray());
        }

        public void Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Put(key, value);

        public bool Delete(ReadOnlySpan<byte> key)
        {
            FlushHeld();
            _many = true;
            return tree.TryDelete(key.ToArray(), out _);
        }

        private void FlushHeld()
        {
            if (_heldKey is null) return;
            tree.Upsert(_heldKey, _heldValue!);
            _heldKey = _heldValue = null;
        }

        public void Commit()
        {
            if (_heldKey is null) return;
            SyncingFileStreamProvider.SyncOnFlush = durable && !_many;
            try { FlushHeld(); }
            finally { SyncingFileStreamProvider.SyncOnFlush = false; }
        }

        public void Dispose() { }
    }

    private sealed class Reader(IZoneTree<byte[], byte[]> tree) : IReadTxn
    {
        private byte[] _key = new byte[64];

        public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            // ZoneTree takes keys as byte[]: copy into a reused buffer rather than allocate per get.
            if (_key.Length != key.Length) _key = new byte[key.Length];
            key.CopyTo(_key);
            bool found = tree.TryGet(_key, out var v);
            value = found ? v : default;
            return found;
        }

        public ICursor OpenCursor() => new Cursor(tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false));

        public void Dispose() { }
    }

    private sealed class Cursor(IZoneTreeIterator<byte[], byte[]> it) : ICursor
    {
        public bool First()
        {
            it.SeekFirst();
            return it.Next();
        }

        public bool Seek(ReadOnlySpan<byte> key)
        {
            it.Seek(key.ToArray());
            return it.Next();
        }

        public bool Next() => it.Next();

        public ReadOnlySpan<byte> Key => it.CurrentKey;
        public ReadOnlySpan<byte> Value => it.CurrentValue;

        public void Dispose() => it.Dispose();
    }

    /// <summary>
    /// ZoneTree's local file streams, except that Flush() on a write-ahead log file also fsyncs when the calling
    /// thread has asked for it (a durable one-put commit).
    /// </summary>
    private sealed class SyncingFileStreamProvider : IFileStreamProvider
    {
        [ThreadStatic] public static bool SyncOnFlush;
        private readonly LocalFileStreamProvider _inner = new();

        public IFileStream CreateFileStream(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize = 4096, FileOptions options = FileOptions.None) =>
            new SyncingStream(path, new FileStream(path, mode, access, share, bufferSize, options));

        public bool FileExists(string path) => _inner.FileExists(path);
        public bool DirectoryExists(string path) => _inner.DirectoryExists(path);
        public void CreateDirectory(string path) => _inner.CreateDirectory(path);
        public void DeleteFile(string path) => _inner.DeleteFile(path);
        public void DeleteDirectory(string path, bool recursive) => _inner.DeleteDirectory(path, recursive);
        public string ReadAllText(string path) => _inner.ReadAllText(path);
        public byte[] ReadAllBytes(string path) => _inner.ReadAllBytes(path);
        public void Replace(string sourceFileName, string destinationFileName, string destinationBackupFileName) =>
            _inner.Replace(sourceFileName, destinationFileName, destinationBackupFileName);
        public DurableFileWriter GetDurableFileWriter() => _inner.GetDurableFileWriter();
        public IReadOnlyList<string> GetDirectories(string path) => _inner.GetDirectories(path);
        public string CombinePaths(string path1, string path2) => _inner.CombinePaths(path1, path2);
        public IReadOnlyList<string> GetFiles(string path) => _inner.GetFiles(path);
        public void MoveFile(string sourceFileName, string destinationFileName) => _inner.MoveFile(sourceFileName, destinationFileName);
        public void SyncDirectory(string path) => _inner.SyncDirectory(path);
    }

    private sealed class SyncingStream(string path, FileStream fs) : Stream, IFileStream
    {
        public string FilePath => path;
        public override bool CanRead => fs.CanRead;
        public override bool CanSeek => fs.CanSeek;
        public override bool CanWrite => fs.CanWrite;
        public override long Length => fs.Length;
        public override long Position { get => fs.Position; set => fs.Position = value; }
        public override void Flush() => fs.Flush(SyncingFileStreamProvider.SyncOnFlush);
        public void Flush(bool flushToDisk) => fs.Flush(flushToDisk);
        public override int Read(byte[] buffer, int offset, int count) => fs.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => fs.Read(buffer);
        public int ReadFaster(byte[] buffer, int offset, int count)
        {
            int total = 0;
            while (total < count)
            {
                int read = fs.Read(buffer, offset + total, count - total);
                if (read == 0) throw new EndOfStreamException();
                total += read;
            }
            return total;
        }
        public override long Seek(long offset, SeekOrigin origin) => fs.Seek(offset, origin);
        public override void SetLength(long value) => fs.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => fs.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => fs.Write(buffer);
        public override void WriteByte(byte value) => fs.WriteByte(value);
        public override int ReadByte() => fs.ReadByte();
        public Stream ToStream() => this;
        protected override void Dispose(bool disposing)
        {
            if (disposing) fs.Dispose();
            base.Dispose(disposing);
        }
    }
}
