namespace MmapKv.Tests;

/// <summary>A database file in a fresh temporary folder, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mmapkv-tests", Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name = "test.mkv") => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class Bytes
{
    public static byte[] Of(string s) => System.Text.Encoding.UTF8.GetBytes(s);
    public static string Str(ReadOnlySpan<byte> b) => System.Text.Encoding.UTF8.GetString(b);
}
