using System.Runtime.InteropServices;

namespace MmapKv.Benchmarks.Native;

/// <summary>The part of RocksDB's C API (rocksdb/c.h) the harness uses.</summary>
internal static unsafe partial class RocksDb
{
    private const string Lib = NativeLibraries.RocksDb;

    public const int NoCompression = 0;

    [LibraryImport(Lib)] public static partial nint rocksdb_options_create();
    [LibraryImport(Lib)] public static partial void rocksdb_options_destroy(nint options);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_create_if_missing(nint options, byte value);
    [LibraryImport(Lib)] public static partial void rocksdb_options_increase_parallelism(nint options, int threads);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_compression(nint options, int compression);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_block_based_table_factory(nint options, nint tableOptions);
    [LibraryImport(Lib)] public static partial nint rocksdb_block_based_options_create();
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_destroy(nint tableOptions);
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_set_filter_policy(nint tableOptions, nint policy);
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_set_block_cache(nint tableOptions, nint cache);
    [LibraryImport(Lib)] public static partial nint rocksdb_filterpolicy_create_bloom_full(double bitsPerKey);
    [LibraryImport(Lib)] public static partial nint rocksdb_cache_create_lru(nuint capacity);
    [LibraryImport(Lib)] public static partial void rocksdb_cache_destroy(nint cache);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint rocksdb_open(nint options, string name, out nint errptr);
    [LibraryImport(Lib)] public static partial void rocksdb_close(nint db);
    [LibraryImport(Lib)] public static partial void rocksdb_free(nint p);

    [LibraryImport(Lib)] public static partial nint rocksdb_writeoptions_create();
    [LibraryImport(Lib)] public static partial void rocksdb_writeoptions_destroy(nint options);
    [LibraryImport(Lib)] public static partial void rocksdb_writeoptions_set_sync(nint options, byte value);
    [LibraryImport(Lib)] public static partial nint rocksdb_readoptions_create();
    [LibraryImport(Lib)] public static partial void rocksdb_readoptions_destroy(nint options);
    [LibraryImport(Lib)] public static partial void rocksdb_readoptions_set_snapshot(nint options, nint snapshot);
    [LibraryImport(Lib)] public static partial nint rocksdb_create_snapshot(nint db);
    [LibraryImport(Lib)] public static partial void rocksdb_release_snapshot(nint db, nint snapshot);

    [LibraryImport(Lib)] public static partial nint rocksdb_writebatch_create();
    [LibraryImport(Lib)] public static partial void rocksdb_writebatch_destroy(nint batch);
    [LibraryImport(Lib)] public static partial void rocksdb_writebatch_put(nint batch, byte* key, nuint keyLength, byte* value, nuint valueLength);
    [LibraryImport(Lib)] public static partial void rocksdb_writebatch_delete(nint batch, byte* key, nuint keyLength);
    [LibraryImport(Lib)] public static partial void rocksdb_write(nint db, nint options, nint batch, out nint errptr);

    [LibraryImport(Lib)] public static partial nint rocksdb_get_pinned(nint db, nint options, byte* key, nuint keyLength, out nint errptr);
    [LibraryImport(Lib)] public static partial byte* rocksdb_pinnableslice_value(nint slice, out nuint length);
    [LibraryImport(Lib)] public static partial void rocksdb_pinnableslice_destroy(nint slice);

    [LibraryImport(Lib)] public static partial nint rocksdb_create_iterator(nint db, nint options);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_destroy(nint iterator);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_seek_to_first(nint iterator);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_seek(nint iterator, byte* key, nuint keyLength);
    [LibraryImport(Lib)] public static partial byte rocksdb_iter_valid(nint iterator);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_next(nint iterator);
    [LibraryImport(Lib)] public static partial byte* rocksdb_iter_key(nint iterator, out nuint length);
    [LibraryImport(Lib)] public static partial byte* rocksdb_iter_value(nint iterator, out nuint length);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_get_error(nint iterator, out nint errptr);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rocksdb_property_int(nint db, string property, out ulong value);

    /// <summary>Throws if a call set its error string (which RocksDB allocates and the caller frees).</summary>
    public static void Check(nint err, string call)
    {
        if (err == 0) return;
        string message = Marshal.PtrToStringUTF8(err) ?? "?";
        rocksdb_free(err);
        throw new InvalidOperationException($"RocksDB {call} failed: {message}");
    }
}
