using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Invalid options and paths at open: refused with the exact exception, creating nothing.
/// </summary>
public class OpenOptionsTests
{
    [Theory]
    [InlineData(3000)]
    [InlineData(2048)]
    [InlineData(131072)]
    [InlineData(0)]
    [InlineData(-4096)]
    [InlineData(6144)]
    public void Open_InvalidPageSize_ThrowsArgumentOutOfRangeAndCreatesNothing(int pageSize)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), new KvOptions { PageSize = pageSize }));
        Assert.Equal(nameof(KvOptions.PageSize), e.ParamName);
        Assert.False(File.Exists(dir.File()));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    /// <summary>Each invalid option other than the page size, by name.</summary>
    private static readonly Dictionary<string, KvOptions> OtherInvalidOptions = new()
    {
        ["MaxSize = 4096"] = new KvOptions { MaxSize = 4096 },
        ["MaxReaders = 0"] = new KvOptions { MaxReaders = 0 },
        ["Durability = 7"] = new KvOptions { Durability = (Durability)7 },
        ["CreateMode = 0x200"] = new KvOptions { CreateMode = 0x200 },
    };

    public static TheoryData<string> OtherInvalidOptionNames => new(OtherInvalidOptions.Keys);

    [Theory]
    [MemberData(nameof(OtherInvalidOptionNames))]
    public void Open_OtherInvalidOptions_ThrowArgumentOutOfRange(string option)
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentOutOfRangeException>(() => KvDatabase.Open(dir.File(), OtherInvalidOptions[option]));
        Assert.False(File.Exists(dir.File()));
    }

    [Fact]
    public void Open_EmptyPath_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => KvDatabase.Open(""));
        Assert.Throws<ArgumentNullException>(() => KvDatabase.Open(null!));
    }

    [Fact]
    public void Open_ReadOnlyMissingFile_ThrowsFileNotFoundAndCreatesNothing()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => KvDatabase.Open(dir.File("missing.mkv"), new KvOptions { ReadOnly = true }));
        Assert.False(File.Exists(dir.File("missing.mkv")));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Open_ExistingFileLargerThanMaxSize_ThrowsArgumentException()
    {
        using var dir = new TempDir();
        using (var db = KvDatabase.Open(dir.File()))
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, new byte[100_000]);
            tx.Commit();
        }
        long length = new FileInfo(dir.File()).Length;
        Assert.Throws<ArgumentException>(() => KvDatabase.Open(dir.File(), new KvOptions { MaxSize = length - 4096 }));
        using var again = KvDatabase.Open(dir.File(), new KvOptions { MaxSize = length }); // lock was released
        using var rtx = again.BeginRead();
        Assert.True(rtx.TryGet("k"u8, out _));
    }
}
