using MmapKv.Benchmarks.Native;

namespace MmapKv.Benchmarks.Engines;

/// <summary>Creates engines by id and checks that their native libraries load.</summary>
internal static class EngineCatalog
{
    /// <summary>The native library an engine needs, or null for the pure .NET engines (MmapKv, ZoneTree, LiteDB).</summary>
    public static string? NativeLibrary(string id) => id switch
    {
        "lmdb" or "lmdb-writemap" or "lightningdb" => NativeLibraries.Lmdb,
        "sqlite" => NativeLibraries.Sqlite,
        "rocksdb" => NativeLibraries.RocksDb,
        _ => null,
    };

    public static IEngine Create(string id, EngineSettings settings) => id switch
    {
        "mmapkv" => new MmapKvEngine(settings),
        "lmdb" => new LmdbEngine(settings, writeMap: false),
        "lmdb-writemap" => new LmdbEngine(settings, writeMap: true),
        "sqlite" => new SqliteEngine(settings),
        "rocksdb" => new RocksDbEngine(settings),
        "zonetree" => new ZoneTreeEngine(settings),
        "litedb" => new LiteDbEngine(settings),
        "lightningdb" => new LightningDbEngine(settings),
        _ => throw new ArgumentException($"Unknown engine '{id}'."),
    };

    /// <summary>Null when the engine can run; otherwise what to install.</summary>
    public static string? Missing(string id)
    {
        string? lib = NativeLibrary(id);
        if (lib is null || NativeLibraries.TryLoad(lib, out _, out _)) return null;
        string package = NativeLibraries.PackageFor(lib);
        return $"{id}: the native library lib{lib}.so was not found. Install it with: apt-get install -y {package}";
    }
}
