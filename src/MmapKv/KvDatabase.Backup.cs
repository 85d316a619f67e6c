using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Storage;

namespace MmapKv;

public sealed partial class KvDatabase
{
    /// <summary>
    /// Writes a consistent copy of the newest commit to a new file at <paramref name="path"/>, while writers go on.
    /// The copy is written under a temporary name, synced, and then moved into place.
    /// </summary>
    /// <param name="path">Destination; must not exist.</param>
    /// <param name="compact">
    /// False: a page-for-page copy of the snapshot (fast; keeps free pages). True: a new, densely packed file
    /// holding only live data, with no free pages.
    /// </param>
    /// <exception cref="IOException">The destination exists.</exception>
    public void CopyTo(string path, bool compact = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.GetFullPath(path);
        if (File.Exists(path)) throw new IOException($"The destination {path} already exists.");
        string temp = $"{path}.copying-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            if (compact) CompactInto(temp);
            else
            {
                using var file = new FileStream(temp, NewFileOptions(Options));
                CopyPagesTo(file);
                file.Flush(flushToDisk: true);
                PageCache.Drop(file.SafeFileHandle); // synced: a database opened on the copy then writes 4 KiB pages
            }
            File.Move(temp, path, overwrite: false);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// Writes a consistent copy of the newest commit to <paramref name="destination"/> (for example a network or
    /// archive stream). The bytes form a complete database file.
    /// </summary>
    public void CopyTo(Stream destination, bool compact = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!compact)
        {
            CopyPagesTo(destination);
            return;
        }
        string temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mmapkv-compact-{Guid.NewGuid():N}.mkv");
        try
        {
            CompactInto(temp);
            using var file = File.OpenRead(temp);
            file.CopyTo(destination);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// How a copy's file is created: exclusively, and with <see cref="KvOptions.CreateMode"/> like every database
    /// file, since a copy holds the same data (the FileStream default, 0666 less the umask, would let others read it).
    /// </summary>
    private static FileStreamOptions NewFileOptions(KvOptions options)
    {
        var o = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
        if (!OperatingSystem.IsWindows()) o.UnixCreateMode = (UnixFileMode)options.CreateMode;
        return o;
    }

    /// <summary>
    /// Page-for-page copy of a read snapshot. The snapshot's pages cannot change while the read transaction is
    /// open (reuse rule R1), so the copy is consistent. Pages free in the snapshot may be in use by the writer and
    /// are copied in whatever state they are in; the copy's free map marks them free, so that is harmless.
    /// Slot 0 of the copy gets the snapshot's meta record; slot 1 is left invalid.
    /// </summary>
    private unsafe void CopyPagesTo(Stream destination)
    {
        using var tx = BeginRead(internalUse: true);
        var meta = tx.SnapshotMeta;
        var page = new byte[PageSize];
        fixed (byte* p = page) MetaPage.Write(p, meta);
        destination.Write(page);
        Array.Clear(page);
        destination.Write(page);
        byte* b = Storage.Base;
        const int chunkPages = 256;
        for (long id = MetaPage.Count; id < meta.PageCount; id += chunkPages)
        {
            long n = Math.Min(chunkPages, meta.PageCount - id);
            destination.Write(new ReadOnlySpan<byte>(b + id * PageSize, checked((int)(n * PageSize))));
        }
    }

    /// <summary>Rebuilds every tree in key order into a new file, so leaves come out full (append splits).</summary>
    private void CompactInto(string path)
    {
        using var source = BeginRead(internalUse: true);
        // The target is written in one Immediate commit and closed, so it needs no flush timer, and nobody else may
        // open it meanwhile, so it needs no lock file.
        using var target = Open(path, Options with
        {
            ReadOnly = false, PageSize = PageSize, Durability = Durability.Immediate, DeferredFlushInterval = TimeSpan.Zero,
            Exclusive = true,
        });
        using (var tx = target.BeginWrite())
        {
            using (var c = source.OpenCursor())
                for (bool ok = c.First(); ok; ok = c.Next()) tx.Put(CheckedKey(c.Key), c.Value);
            // The catalog walk gives each tree's validated descriptor, so no second lookup by name is needed.
            foreach (var entry in source.CommittedCatalog)
            {
                // The copy keeps the tree's kind (a multimap's composite keys are copied as they are, docs/format.md
                // §5.1) and its key order. A custom order's comparer is the application's, which a copy cannot call.
                if (entry.Descriptor.Order is KeyComparer.UnboundCustom)
                    throw new InvalidOperationException($"Tree '{entry.Name}' has a custom key order; a compacting copy cannot rebuild it without its comparer. Copy without compaction.");
                var into = tx.TreeHandle(tx.OpenOrCreate(entry.Name, entry.Descriptor.IsMultimap, entry.Descriptor.IsMultimap ? null : entry.Descriptor.KeyOrder));
                using var c = source.OpenCursor(new TreeState(entry.Name, entry.Descriptor));
                for (bool ok = c.First(); ok; ok = c.Next()) into.Put(CheckedKey(c.Key), c.Value);
            }
            tx.Commit();
        }
        var report = target.Check();
        ReadOnlySpan<byte> CheckedKey(ReadOnlySpan<byte> key) =>
            key.Length is > 0 && key.Length <= MaxKeySize ? key
            : throw Corrupt.Create($"the source holds a key of {key.Length} bytes, outside 1..{MaxKeySize}");
        if (!report.IsValid) Corrupt.Throw("The compacted copy failed its integrity check: " + report);
    }
}
