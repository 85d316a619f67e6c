using MmapKv.Format;
using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// Files that are not (or no longer) MmapKv databases, or are of another format version: the open is refused with the exact exception the contract names, writes nothing and leaves no lock behind.
/// </summary>
public class NotADatabaseTests
{
    [Theory]
    [InlineData(10, false)]
    [InlineData(10, true)]
    [InlineData(255, false)]
    [InlineData(256, false)]
    [InlineData(4096, false)]
    [InlineData(4096, true)]
    [InlineData(8192, false)]
    [InlineData(4096 + 300, false)]
    [InlineData(100 * 1024, false)]
    [InlineData(100 * 1024, true)]
    public void Open_RandomBytesFile_ThrowsCorruptDatabase(int size, bool readOnly)
    {
        using var dir = new TempDir();
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        File.WriteAllBytes(dir.File(), bytes);
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Open_EmptyFile_ThrowsCorruptDatabase(bool readOnly)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(), Array.Empty<byte>());
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly);
        Assert.Equal(0, new FileInfo(dir.File()).Length); // not "repaired" into a new database
    }

    [Theory]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(8192)]
    [InlineData(1 << 20)]
    public void Open_FileOfZeros_ThrowsCorruptDatabase(int size)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(), new byte[size]);
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
    }

    [Fact]
    public void Open_TextFile_ThrowsCorruptDatabase()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(), string.Concat(Enumerable.Repeat("This is not a database.\n", 1000)));
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
    }

    /// <summary>-1 means half of the file; other values are absolute lengths.</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(100)]
    [InlineData(4096 + 100)]
    [InlineData(8192)]
    [InlineData(3 * 4096)]
    public void Open_TruncatedDatabase_ThrowsCorruptDatabase(int truncateTo)
    {
        using var dir = new TempDir();
        string path = dir.File();
        using (var db = KvDatabase.Open(path))
        {
            using (var tx = db.BeginWrite())
            {
                // ~200 overflow pages: most of the first 1 MiB growth step is in use.
                for (int i = 0; i < 200; i++) tx.Put(Key(i), Value(i, 3000));
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                tx.Put("last"u8, "x"u8);
                tx.Commit();
            }
        }
        byte[] file = File.ReadAllBytes(path);
        // -1: half of the pages the newest meta references (the file itself is longer: close keeps the delete reserve).
        long used = Math.Max(MetaField(file, 0, 4096, MetaPage.PageCountOffset), MetaField(file, 1, 4096, MetaPage.PageCountOffset)) * 4096;
        long newLength = truncateTo < 0 ? used / 2 : truncateTo;
        // Precondition: both meta slots reference pages past the new end, so neither may be used.
        for (int slot = 0; slot < 2; slot++)
            Assert.True(MetaField(file, slot, 4096, MetaPage.PageCountOffset) * 4096 > newLength,
                $"test setup: slot {slot} still fits in {newLength} bytes");
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write)) fs.SetLength(newLength);

        AssertOpenFails<CorruptDatabaseException>(path, readOnly: false);
        AssertOpenFails<CorruptDatabaseException>(path, readOnly: true);
    }

    [Theory]
    [InlineData(4096, 20)]                                  // txn id
    [InlineData(4096, MetaPage.MagicOffset)]                // magic
    [InlineData(4096, MetaPage.ChecksumOffset + 1)]         // the checksum itself
    [InlineData(16384, MetaPage.MainTreeOffset)]            // main root
    public void Open_BothMetaSlotsWithFlippedByte_ThrowsCorruptDatabase(int pageSize, int offset)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            f[SlotOffset(0, pageSize) + offset] ^= 0x10;
            f[SlotOffset(1, pageSize) + offset] ^= 0x10;
        });
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: false);
        AssertOpenFails<CorruptDatabaseException>(dir.File(), readOnly: true);
    }

    [Theory]
    [InlineData(4096, 2u)]
    [InlineData(4096, 6u)]
    [InlineData(4096, 1u)]
    [InlineData(4096, 0u)]
    [InlineData(16384, 1u)]
    [InlineData(65536, 0xFFFFFFFFu)]
    public void Open_BothMetaSlotsWithOtherFormatVersion_ThrowsIncompatibleFormat(int pageSize, uint version)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            SetMetaVersion(f, 0, pageSize, version);
            SetMetaVersion(f, 1, pageSize, version);
        });
        AssertOpenFails<IncompatibleFormatException>(dir.File(), readOnly: false);
        AssertOpenFails<IncompatibleFormatException>(dir.File(), readOnly: true);
    }

    /// <summary>
    /// Regression: with slot 0 destroyed and pages of 8 KiB or more, the search for slot 1 kept only the result at
    /// the first candidate offset (4096, inside page 0), so a version mismatch found at the real slot was lost and
    /// the open reported plain corruption. Slot 0 is destroyed; the only intact meta record (slot 1) is from
    /// another format version: the file is recognisably an MmapKv database of another version, whatever its page size.
    /// </summary>
    [Theory]
    [InlineData(4096)]
    [InlineData(16384)]
    [InlineData(65536)]
    public void Open_DamagedSlot0AndOtherVersionInSlot1_ThrowsIncompatibleFormat(int pageSize)
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File(), pageSize);
        Patch(dir.File(), f =>
        {
            Array.Clear(f, SlotOffset(0, pageSize), MetaPage.Size);
            SetMetaVersion(f, 1, pageSize, 1);
        });
        AssertOpenFails<IncompatibleFormatException>(dir.File(), readOnly: true);
    }

    /// <summary>A file of format version 1 (before the commit list) is refused, and the message names both versions.</summary>
    [Fact]
    public void Open_Version1File_ThrowsIncompatibleFormatNamingBothVersions()
    {
        using var dir = new TempDir();
        CreateTwoCommits(dir.File());
        Patch(dir.File(), f =>
        {
            SetMetaVersion(f, 0, 4096, 1);
            SetMetaVersion(f, 1, 4096, 1);
        });
        var e = Assert.Throws<IncompatibleFormatException>(() => KvDatabase.Open(dir.File()).Dispose());
        Assert.Contains("format version 1", e.Message);
        Assert.Contains("this build reads 3", e.Message);
    }
}
