using MmapKv.Storage;

namespace MmapKv.Tests;

/// <summary>
/// Real mapped storage (the platform's, as the engine opens it) that passes every call on. A test derives from it and
/// overrides the calls it watches or makes fail.
/// </summary>
internal unsafe class ForwardingStorage(string path, long capacity) : IStorage
{
    private readonly IStorage _inner = MappedStorage.Open(path, readOnly: false, capacity, createNew: false, 0);

    public byte* Base => _inner.Base;
    public long Capacity => _inner.Capacity;
    public long Length => _inner.Length;
    public bool IsReadOnly => false;
    public void Grow(long newLength) => _inner.Grow(newLength);
    public void Shrink(long newLength) => _inner.Shrink(newLength);
    public void VerifyLength() => _inner.VerifyLength();
    public void Write(long offset, ReadOnlySpan<byte> data) => _inner.Write(offset, data);
    public virtual void Prefault(long offset, long length) => _inner.Prefault(offset, length);
    public virtual void EndPrefault() => _inner.EndPrefault();
    public virtual void Flush(long offset, long length) => _inner.Flush(offset, length);
    public virtual void StartWriteback(long offset, long length) => _inner.StartWriteback(offset, length);
    public virtual void SyncData() => _inner.SyncData();
    public virtual void Sync() => _inner.Sync();
    public void CloseFile() => _inner.CloseFile();
    public void Dispose() => _inner.Dispose();
}
