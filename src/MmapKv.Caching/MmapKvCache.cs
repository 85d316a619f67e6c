using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MmapKv.Caching;

/// <summary>
/// A distributed cache (<see cref="IDistributedCache"/>, <see cref="IBufferDistributedCache"/>) kept in one MmapKv
/// file: it survives restarts, a crash never damages it, and reads are served from the memory map. Meant as the second level
/// of HybridCache or FusionCache. Thread-safe. One process uses a file at a time (docs/caching.md).
/// </summary>
/// <remarks>
/// Expiry follows the SQL Server cache: an entry expires at <c>min(now + sliding, absolute)</c>; Get, TryGet and
/// Refresh move that point for entries with a sliding window; an expired entry is never returned. Expired entries
/// are removed by a sweep every <see cref="MmapKvCacheOptions.ExpirationScanInterval"/>. When a write would make
/// the file pass <see cref="MmapKvCacheOptions.SizeLimit"/>, the soonest-expiring entries are evicted first.
/// </remarks>
public sealed class MmapKvCache : IBufferDistributedCache, IDisposable
{
    private const int EvictBatch = 200;      // a delete of 200 keys spread over the trees fits the engine's delete reserve
    private const int MaxFullRetries = 8;

    private readonly KvDatabase _db;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheMetrics _metrics;
    private readonly ITimer? _sweepTimer;
    private readonly Durability _durability;
    private readonly long _defaultSlidingTicks;
    private readonly int _batchSize;
    private readonly int _maxKeyBytes;
    private long _sizeBytes;
    private long _entries;
    private int _sweeping;
    private int _disposed;

    /// <summary>Opens (or creates) the cache file named by <see cref="MmapKvCacheOptions.Path"/>.</summary>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    /// <exception cref="CorruptDatabaseException">The file is damaged and <see cref="MmapKvCacheOptions.ThrowOnCorruption"/> is set.</exception>
    /// <exception cref="DatabaseLockedException">Another process (or another cache instance) has the file open.</exception>
    /// <exception cref="InvalidOperationException">The file is an MmapKv database that is not a cache.</exception>
    public MmapKvCache(IOptions<MmapKvCacheOptions> options, ILogger<MmapKvCache>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        var problems = MmapKvCacheOptionsValidator.Problems(o).ToList();
        if (problems.Count > 0) throw new OptionsValidationException(Options.DefaultName, typeof(MmapKvCacheOptions), problems);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = o.TimeProvider;
        _durability = o.Durability;
        _defaultSlidingTicks = o.DefaultSlidingExpiration.Ticks;
        _batchSize = o.ExpirationScanBatchSize;
        SizeLimit = o.SizeLimit;
        MaximumEntrySize = o.SizeLimit / 2;
        Path = System.IO.Path.GetFullPath(o.Path!);
        _db = OpenDatabase(o);
        _maxKeyBytes = _db.MaxKeySize - EntryLayout.IndexPrefix;
        _metrics = new CacheMetrics(meterFactory, () => Interlocked.Read(ref _sizeBytes), () => Interlocked.Read(ref _entries));
        CacheLog.Opened(_logger, Path, _entries, _sizeBytes);
        if (o.ExpirationScanInterval != Timeout.InfiniteTimeSpan)
            _sweepTimer = _time.CreateTimer(static s => ((MmapKvCache)s!).OnSweepTimer(), this, o.ExpirationScanInterval, o.ExpirationScanInterval);
    }

    /// <summary>The cache file's full path.</summary>
    public string Path { get; }

    /// <summary>The most the file may grow to, in bytes (<see cref="MmapKvCacheOptions.SizeLimit"/>).</summary>
    public long SizeLimit { get; }

    /// <summary>
    /// The largest entry accepted (key twice, 32 bytes of header and index, value), in bytes: half of
    /// <see cref="SizeLimit"/>, since copy-on-write needs room for the new pages while the old ones are still live.
    /// </summary>
    public long MaximumEntrySize { get; }

    /// <summary>Bytes the entries account for (keys, headers, values; not the B+tree's page overhead).</summary>
    public long SizeBytes => Interlocked.Read(ref _sizeBytes);

    /// <summary>Entries in the file, live or expired but not yet swept.</summary>
    public long Count => Interlocked.Read(ref _entries);

    // ---------------------------------------------------------------------------------------------------- reads

    /// <inheritdoc/>
    public byte[]? Get(string key)
    {
        var r = Read(key, null, wantArray: true, refreshOnly: false);
        if (r.SlideTo != 0) RunSync(Slide(r, sync: true, CancellationToken.None));
        return r.Array;
    }

    /// <inheritdoc/>
    /// <remarks>Completes synchronously, unless the entry's sliding window must be moved while another write holds the writer.</remarks>
    public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        token.ThrowIfCancellationRequested();
        var r = Read(key, null, wantArray: true, refreshOnly: false);
        if (r.SlideTo == 0) return Task.FromResult(r.Array);
        var slide = Slide(r, sync: false, token);
        return slide.IsCompletedSuccessfully ? Task.FromResult(r.Array) : Await(slide, r.Array);

        static async Task<byte[]?> Await(ValueTask slide, byte[]? value)
        {
            await slide.ConfigureAwait(false);
            return value;
        }
    }

    /// <inheritdoc/>
    /// <remarks>The value is copied from the memory map straight into <paramref name="destination"/>.</remarks>
    public bool TryGet(string key, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var r = Read(key, destination, wantArray: false, refreshOnly: false);
        if (r.SlideTo != 0) RunSync(Slide(r, sync: true, CancellationToken.None));
        return r.Found;
    }

    /// <inheritdoc/>
    public ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        token.ThrowIfCancellationRequested();
        var r = Read(key, destination, wantArray: false, refreshOnly: false);
        if (r.SlideTo == 0) return new ValueTask<bool>(r.Found);
        var slide = Slide(r, sync: false, token);
        return slide.IsCompletedSuccessfully ? new ValueTask<bool>(true) : Await(slide);

        static async ValueTask<bool> Await(ValueTask slide)
        {
            await slide.ConfigureAwait(false);
            return true;
        }
    }

    /// <inheritdoc/>
    public void Refresh(string key)
    {
        var r = Read(key, null, wantArray: false, refreshOnly: true);
        if (r.SlideTo != 0) RunSync(Slide(r, sync: true, CancellationToken.None));
    }

    /// <inheritdoc/>
    public Task RefreshAsync(string key, CancellationToken token = default)
    {
        token.ThrowIfCancellationRequested();
        var r = Read(key, null, wantArray: false, refreshOnly: true);
        return r.SlideTo == 0 ? Task.CompletedTask : Slide(r, sync: false, token).AsTask();
    }

    private readonly record struct ReadResult(bool Found, byte[]? Array, string Key, EntryHeader Seen, long SlideTo);

    /// <summary>
    /// One read transaction: finds the entry, checks its expiry, copies its value out; says whether the window must
    /// slide. Allocates nothing but the returned array: the key is encoded into a pooled buffer, the entries tree is
    /// read without a tree handle (the engine remembers its descriptor per snapshot, so a run of reads between two
    /// commits searches the catalog once per reader slot), and the clock is read only when an entry was found.
    /// </summary>
    private ReadResult Read(string key, IBufferWriter<byte>? destination, bool wantArray, bool refreshOnly)
    {
        using var k = EncodeKey(key);
        using var tx = _db.BeginRead();
        if (!tx.TryGetInTree(EntryLayout.EntriesTree, k.Tree, out var record)) return Miss(refreshOnly, key);
        var h = EntryLayout.ReadHeader(record);
        int start = EntryLayout.ValueStart(record, k);
        if (start < 0) return Miss(refreshOnly, key);
        long now = _time.GetUtcNow().UtcTicks;
        if (h.IsExpiredAt(now)) return Miss(refreshOnly, key);
        var value = record[start..];
        byte[]? array = null;
        if (wantArray) array = value.ToArray();
        else if (destination is not null)
        {
            var span = destination.GetSpan(value.Length);
            value.CopyTo(span);
            destination.Advance(value.Length);
        }
        if (!refreshOnly) _metrics.Hits.Add(1);
        return new ReadResult(true, array, key, h, Expiration.SlideTo(h, now));
    }

    private ReadResult Miss(bool refreshOnly, string key)
    {
        if (!refreshOnly) _metrics.Misses.Add(1);
        return new ReadResult(false, null, key, default, 0);
    }

    /// <summary>
    /// Moves an entry's expiry to <see cref="ReadResult.SlideTo"/> if it has not changed since it was read. The
    /// header sits in front of the value, so the record is rewritten. Commits deferred: a slide lost in a crash only
    /// lets the entry expire at its previous time.
    /// </summary>
    private async ValueTask Slide(ReadResult r, bool sync, CancellationToken token)
    {
        WriteTransaction tx;
        if (sync) tx = _db.BeginWrite();
        else
        {
            try { tx = _db.BeginWrite(TimeSpan.Zero); }
            catch (TimeoutException) { tx = await _db.BeginWriteAsync(token).ConfigureAwait(false); }
        }
        using (tx)
        {
            // No room to rewrite, in the edit or in the commit's own pages: the entry keeps its previous expiry.
            try
            {
                if (!SlideInTransaction(tx, r)) return;
                if (sync) tx.Commit(Durability.Deferred);
                else await tx.CommitAsync(Durability.Deferred, CancellationToken.None).ConfigureAwait(false);
            }
            catch (DatabaseFullException) { return; }
        }
    }

    private bool SlideInTransaction(WriteTransaction tx, ReadResult r)
    {
        using var k = EncodeKey(r.Key);
        var entries = tx.OpenTree(EntryLayout.EntriesTree);
        var index = tx.OpenTree(EntryLayout.ExpiryTree);
        if (!entries.TryGet(k.Tree, out var record) || EntryLayout.ReadHeader(record) != r.Seen || EntryLayout.ValueStart(record, k) < 0) return false;
        using var copy = MemoryOwner<byte>.Allocate(record.Length); // the span dies at the next write
        record.CopyTo(copy.Span);
        EntryLayout.WriteHeader(copy.Span, r.Seen with { ExpiresTicks = r.SlideTo });
        using var ik = MemoryOwner<byte>.Allocate(EntryLayout.IndexPrefix + k.Tree.Length);
        index.Delete(ik.Span[..EntryLayout.WriteIndexKey(ik.Span, r.Seen.ExpiresTicks, k.Tree)]);
        entries.Put(k.Tree, copy.Span);
        index.Put(ik.Span[..EntryLayout.WriteIndexKey(ik.Span, r.SlideTo, k.Tree)], ReadOnlySpan<byte>.Empty);
        return true;
    }

    // --------------------------------------------------------------------------------------------------- writes

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The key is empty, or the entry (key, 24-byte header, value) is larger than <see cref="MaximumEntrySize"/>.</exception>
    /// <exception cref="InvalidOperationException">AbsoluteExpiration is not in the future.</exception>
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        RunSync(SetCore(key, new ReadOnlySequence<byte>(value), options, sync: true, CancellationToken.None));
    }

    /// <inheritdoc/>
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        return SetCore(key, new ReadOnlySequence<byte>(value), options, sync: false, token).AsTask();
    }

    /// <inheritdoc/>
    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) =>
        RunSync(SetCore(key, value, options, sync: true, CancellationToken.None));

    /// <inheritdoc/>
    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        SetCore(key, value, options, sync: false, token);

    /// <summary>
    /// Stores the entry; when the file is full, evicts the soonest-expiring entries and tries again. A caller never
    /// sees <see cref="DatabaseFullException"/>: an entry that does not fit even in an emptied cache is dropped and logged.
    /// The sync form never awaits anything incomplete.
    /// </summary>
    private async ValueTask SetCore(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, bool sync, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        token.ThrowIfCancellationRequested();
        using var k = EncodeKey(key);
        long recordLength = EntryLayout.HeaderSize + k.RecordKeyBytes + value.Length;
        long accounted = EntryLayout.AccountedSize(k.Tree.Length, recordLength);
        if (accounted > MaximumEntrySize)
            throw new ArgumentException($"The entry takes {accounted} bytes; this cache takes entries of at most {MaximumEntrySize} bytes (half its SizeLimit).", nameof(value));
        var header = Expiration.ForSet(options, _time.GetUtcNow().UtcTicks, TimeSpan.FromTicks(_defaultSlidingTicks));
        for (int attempt = 0; ; attempt++)
        {
            var tx = sync ? _db.BeginWrite() : await _db.BeginWriteAsync(token).ConfigureAwait(false);
            (long Bytes, int Entries) delta;
            try
            {
                using (tx)
                {
                    delta = PutEntry(tx, k, header, value, (int)recordLength);
                    if (sync) tx.Commit(_durability);
                    else await tx.CommitAsync(_durability, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (DatabaseFullException)
            {
                if (attempt < MaxFullRetries && await Evict(accounted, sync).ConfigureAwait(false)) continue;
                CacheLog.EntryDropped(_logger, key, accounted);
                return;
            }
            Account(delta);
            _metrics.Sets.Add(1);
            return;
        }
    }

    /// <summary>
    /// Stores the record under the key's tree key, replacing what was there (for a long key, possibly another key
    /// with the same hash: one of them is kept). The record is written straight into its page: the header, the key
    /// and the value's segments are copied into the span <see cref="KvTree.Reserve"/> returns, before the next write.
    /// </summary>
    private static (long Bytes, int Entries) PutEntry(WriteTransaction tx, in CacheKey k, in EntryHeader header, in ReadOnlySequence<byte> value, int recordLength)
    {
        var entries = tx.OpenTree(EntryLayout.EntriesTree);
        var index = tx.OpenTree(EntryLayout.ExpiryTree);
        var tree = k.Tree;
        using var ik = MemoryOwner<byte>.Allocate(EntryLayout.IndexPrefix + tree.Length);
        long bytes = EntryLayout.AccountedSize(tree.Length, recordLength);
        int added = 1;
        if (entries.TryGet(tree, out var old))
        {
            long oldExpiry = EntryLayout.ReadHeader(old).ExpiresTicks;
            bytes -= EntryLayout.AccountedSize(tree.Length, old.Length);
            added = 0;
            index.Delete(ik.Span[..EntryLayout.WriteIndexKey(ik.Span, oldExpiry, tree)]);
        }
        var record = entries.Reserve(tree, recordLength); // valid until the index write below
        EntryLayout.WriteHeader(record, header);
        value.CopyTo(record[EntryLayout.WriteKey(record, k)..]);
        index.Put(ik.Span[..EntryLayout.WriteIndexKey(ik.Span, header.ExpiresTicks, tree)], ReadOnlySpan<byte>.Empty);
        return (bytes, added);
    }

    /// <inheritdoc/>
    public void Remove(string key) => RunSync(RemoveCore(key, sync: true, CancellationToken.None));

    /// <inheritdoc/>
    public Task RemoveAsync(string key, CancellationToken token = default) => RemoveCore(key, sync: false, token).AsTask();

    private async ValueTask RemoveCore(string key, bool sync, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        using var k = EncodeKey(key);
        var tx = sync ? _db.BeginWrite() : await _db.BeginWriteAsync(token).ConfigureAwait(false);
        (long Bytes, int Entries) delta;
        using (tx)
        {
            delta = DeleteEntry(tx, k);
            if (delta.Entries == 0) return;
            if (sync) tx.Commit(_durability);
            else await tx.CommitAsync(_durability, CancellationToken.None).ConfigureAwait(false);
        }
        Account(delta);
    }

    /// <summary>Deletes the key's entry; a long key's slot holding another key with the same hash is left alone.</summary>
    private static (long Bytes, int Entries) DeleteEntry(WriteTransaction tx, in CacheKey k)
    {
        var entries = tx.OpenTree(EntryLayout.EntriesTree);
        var tree = k.Tree;
        if (!entries.TryGet(tree, out var old) || EntryLayout.ValueStart(old, k) < 0) return (0, 0);
        long expiry = EntryLayout.ReadHeader(old).ExpiresTicks;
        long bytes = EntryLayout.AccountedSize(tree.Length, old.Length);
        using var ik = MemoryOwner<byte>.Allocate(EntryLayout.IndexPrefix + tree.Length);
        tx.OpenTree(EntryLayout.ExpiryTree).Delete(ik.Span[..EntryLayout.WriteIndexKey(ik.Span, expiry, tree)]);
        entries.Delete(tree);
        return (-bytes, -1);
    }

    // ------------------------------------------------------------------------------------ eviction and expiry

    /// <summary>
    /// Frees room after the file refused to grow: deletes the soonest-expiring entries (expired ones come first)
    /// in delete-only batches of <see cref="EvictBatch"/>, which the engine's delete reserve normally serves (a refused
    /// batch is retried smaller, down to 8 keys), until at least twice the new entry or a sixteenth of the limit is freed. Each batch commits Immediate (awaited on
    /// the engine's flush thread in the async path), so the freed pages are reusable at once. Returns false when
    /// there was nothing left to evict.
    /// </summary>
    private async ValueTask<bool> Evict(long needed, bool sync)
    {
        long target = Math.Max(needed * 2, SizeLimit / 16);
        long freed = 0;
        int count = 0, batch = EvictBatch;
        while (freed < target)
        {
            var tx = sync ? _db.BeginWrite() : await _db.BeginWriteAsync().ConfigureAwait(false);
            (long Bytes, int Entries, int Index) removed;
            using (tx)
            {
                try
                {
                    removed = DeleteSoonest(tx, batch, long.MaxValue);
                    if (removed.Index == 0) break;
                    if (sync) tx.Commit(Durability.Immediate);
                    else await tx.CommitAsync(Durability.Immediate, CancellationToken.None).ConfigureAwait(false);
                }
                catch (DatabaseFullException)
                {
                    // Even a small delete found no room (pages still quarantined or pinned by readers): stop, and let
                    // the caller drop the entry and log it rather than throw (SetCore's promise).
                    if (batch <= 8) break;
                    batch /= 4;
                    continue;
                }
            }
            Account((-removed.Bytes, -removed.Entries));
            freed += removed.Bytes;
            count += removed.Entries;
        }
        if (count > 0)
        {
            _metrics.Evictions.Add(count);
            CacheLog.Evicted(_logger, SizeLimit, count, freed);
        }
        return count > 0 || freed > 0;
    }

    /// <summary>
    /// Deletes up to <paramref name="max"/> rows of the expiry tree, soonest first, whose expiry is at most
    /// <paramref name="maxExpiry"/>, with their entries. Returns the bytes and entries removed and the rows read.
    /// </summary>
    private static (long Bytes, int Entries, int Index) DeleteSoonest(WriteTransaction tx, int max, long maxExpiry)
    {
        var index = tx.OpenTree(EntryLayout.ExpiryTree);
        var entries = tx.OpenTree(EntryLayout.EntriesTree);
        var rows = new List<byte[]>(Math.Min(max, 1024));
        using (var c = index.OpenCursor())
        {
            for (bool ok = c.First(); ok && rows.Count < max; ok = c.Next())
            {
                if (EntryLayout.IndexExpiry(c.Key) > maxExpiry) break;
                rows.Add(c.Key.ToArray());
            }
        }
        long bytes = 0;
        int removed = 0;
        foreach (var row in rows)
        {
            index.Delete(row);
            var key = row.AsSpan(EntryLayout.IndexPrefix);
            // The row and the entry agree unless the file was written by something else; a stray row is just dropped.
            if (entries.TryGet(key, out var record) && EntryLayout.ReadHeader(record).ExpiresTicks == EntryLayout.IndexExpiry(row))
            {
                bytes += EntryLayout.AccountedSize(key.Length, record.Length);
                entries.Delete(key);
                removed++;
            }
        }
        return (bytes, removed, rows.Count);
    }

    /// <summary>
    /// Removes every entry expired now, in write transactions of at most
    /// <see cref="MmapKvCacheOptions.ExpirationScanBatchSize"/> entries (committed deferred), releasing the writer
    /// between batches. The timer calls it every <see cref="MmapKvCacheOptions.ExpirationScanInterval"/>; its cost
    /// is proportional to the expired entries, not to the cache. Returns how many were removed.
    /// </summary>
    public int RemoveExpired()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long started = Stopwatch.GetTimestamp();
        long now = _time.GetUtcNow().UtcTicks;
        int total = 0, batches = 0;
        while (true)
        {
            (long Bytes, int Entries, int Index) removed;
            using (var tx = _db.BeginWrite())
            {
                removed = DeleteSoonest(tx, _batchSize, now);
                if (removed.Index == 0) break;
                tx.Commit(Durability.Deferred);
            }
            batches++;
            total += removed.Entries;
            Account((-removed.Bytes, -removed.Entries));
            _metrics.Expirations.Add(removed.Entries);
            if (removed.Index < _batchSize) break;
        }
        long elapsedMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        CacheLog.SweepDone(_logger, total, batches, elapsedMs);
        return total;
    }

    private void OnSweepTimer()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0) return; // the previous sweep is still running
        try
        {
            if (Volatile.Read(ref _disposed) == 0) RemoveExpired();
        }
        catch (ObjectDisposedException) { }
#pragma warning disable CA1031 // a timer callback must not throw: the failure is logged and the next tick tries again
        catch (Exception e) { CacheLog.SweepFailed(_logger, e); }
#pragma warning restore CA1031
        finally { Volatile.Write(ref _sweeping, 0); }
    }

    // -------------------------------------------------------------------------------------------- open, close

    private KvDatabase OpenDatabase(MmapKvCacheOptions o)
    {
        var kv = o.KvOptions with { Durability = o.Durability, ReadOnly = false };
        try
        {
            return OpenAndLoad(kv, o.SizeLimit);
        }
        catch (CorruptDatabaseException e) when (!o.ThrowOnCorruption)
        {
            string aside = $"{Path}.corrupt-{_time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}";
            File.Move(Path, aside);
            CacheLog.CorruptFileMovedAside(_logger, Path, aside, e.Message, e);
            _sizeBytes = 0;
            _entries = 0;
            return OpenAndLoad(kv, o.SizeLimit);
        }
    }

    /// <summary>Opens the file, creates the trees of a new cache (or checks the format of an existing one) and adds up the entries.</summary>
    private KvDatabase OpenAndLoad(KvOptions kv, long sizeLimit)
    {
        // A file made under a larger SizeLimit opens at its own size: the engine cannot shrink a file in place.
        long existing = File.Exists(Path) ? new FileInfo(Path).Length : 0;
        // Exclusive: the size and entry counts that SizeLimit enforces are kept by this instance, so one cache owns
        // its file (another opener, in any process, gets DatabaseLockedException).
        var db = KvDatabase.Open(Path, kv with { MaxSize = Math.Max(sizeLimit, existing), Exclusive = true });
        try
        {
            using (var tx = db.BeginWrite())
            {
                var meta = tx.OpenTree(EntryLayout.MetaTree);
                if (meta.TryGet(EntryLayout.FormatKey, out var format))
                {
                    if (format.Length != 1 || format[0] != EntryLayout.FormatVersion)
                        throw new IncompatibleFormatException($"The cache file {Path} has cache format {Convert.ToHexString(format)}; this version reads format {EntryLayout.FormatVersion}.");
                }
                else
                {
                    if (tx.GetTreeNames().Any(n => n != EntryLayout.MetaTree) || tx.OpenCursor().First())
                        throw new InvalidOperationException($"{Path} is an MmapKv database but not a cache file; refusing to use it as one.");
                    meta.Put(EntryLayout.FormatKey, [EntryLayout.FormatVersion]);
                }
                tx.OpenTree(EntryLayout.EntriesTree);
                tx.OpenTree(EntryLayout.ExpiryTree);
                tx.Commit(Durability.Immediate);
            }
            long bytes = 0, count = 0;
            using (var tx = db.BeginRead())
            using (var c = tx.OpenTree(EntryLayout.EntriesTree).OpenCursor())
            {
                for (bool ok = c.First(); ok; ok = c.Next())
                {
                    bytes += EntryLayout.AccountedSize(c.Key.Length, c.Value.Length);
                    count++;
                }
            }
            _sizeBytes = bytes;
            _entries = count;
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Stops the sweep timer and closes the file; every Set that returned before is then durable.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _sweepTimer?.Dispose();
        _db.Dispose();
        _metrics.Dispose();
    }

    // ---------------------------------------------------------------------------------------------- helpers

    /// <summary>Ends a sync-mode core call: in that mode the core awaits only completed tasks, so it has completed.</summary>
    private static void RunSync(ValueTask task)
    {
        if (!task.IsCompleted) throw new InvalidOperationException("A synchronous cache operation did not complete synchronously.");
        task.GetAwaiter().GetResult();
    }

    private void Account((long Bytes, int Entries) delta)
    {
        Interlocked.Add(ref _sizeBytes, delta.Bytes);
        Interlocked.Add(ref _entries, delta.Entries);
    }

    private CacheKey EncodeKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return CacheKey.Encode(key, _maxKeyBytes);
    }
}
