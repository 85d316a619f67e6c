using Xunit;
using static MmapKv.Tests.TestData;

namespace MmapKv.Tests;

/// <summary>
/// A write transaction's cursor while the transaction deletes and inserts keys around it.
/// </summary>
public class CursorAcrossWritesTests
{
    private static KvDatabase WithKeys(TempDir dir, IEnumerable<string> keys)
    {
        var db = KvDatabase.Open(dir.File());
        using var tx = db.BeginWrite();
        foreach (string k in keys) tx.Put(Bytes.Of(k), Bytes.Of("v" + k));
        tx.Commit();
        return db;
    }

    [Fact]
    public void Cursor_CurrentKeyDeleted_NextGoesToSuccessor()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c", "d", "e" });
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        Assert.True(c.Seek("c"u8));
        Assert.Equal("c", Bytes.Str(c.Key));
        Assert.True(tx.Delete("c"u8));
        Assert.Throws<InvalidOperationException>(() => { _ = c.Key; }); // its entry is gone
        Assert.True(c.Next());
        Assert.Equal("d", Bytes.Str(c.Key));
        Assert.Equal("vd", Bytes.Str(c.Value));
        Assert.True(c.Next());
        Assert.Equal("e", Bytes.Str(c.Key));
    }

    [Fact]
    public void Cursor_CurrentKeyDeleted_PrevGoesToPredecessor()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c", "d", "e" });
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        Assert.True(c.Seek("c"u8));
        Assert.True(tx.Delete("c"u8));
        Assert.True(c.Prev());
        Assert.Equal("b", Bytes.Str(c.Key));
        Assert.True(c.Prev());
        Assert.Equal("a", Bytes.Str(c.Key));
        Assert.False(c.Prev());
    }

    [Fact]
    public void Cursor_LastKeyDeleted_NextEndsAndPrevGoesToNewLast()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c" });
        using var tx = db.BeginWrite();
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.Last());
            Assert.True(tx.Delete("c"u8));
            Assert.False(c.Next());
        }
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.Last());
            Assert.True(tx.Delete("b"u8));
            Assert.True(c.Prev());
            Assert.Equal("a", Bytes.Str(c.Key));
        }
    }

    [Fact]
    public void Cursor_FirstKeyDeleted_PrevEndsAndNextGoesToNewFirst()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "a", "b", "c" });
        using var tx = db.BeginWrite();
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.First());
            Assert.True(tx.Delete("a"u8));
            Assert.False(c.Prev());
        }
        using (var c = tx.OpenCursor())
        {
            Assert.True(c.First());
            Assert.True(tx.Delete("b"u8));
            Assert.True(c.Next());
            Assert.Equal("c", Bytes.Str(c.Key));
        }
    }

    [Fact]
    public void Cursor_KeysInsertedAroundCurrent_AreVisitedByNextAndPrev()
    {
        using var dir = new TempDir();
        using var db = WithKeys(dir, new[] { "b", "d", "f" });
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        Assert.True(c.Seek("d"u8));
        tx.Put("e"u8, "ve"u8);
        tx.Put("c"u8, "vc"u8);
        Assert.Equal("d", Bytes.Str(c.Key)); // still on its key
        Assert.True(c.Next());
        Assert.Equal("e", Bytes.Str(c.Key));
        tx.Put("d"u8, "changed"u8);
        Assert.True(c.Prev());
        Assert.Equal("d", Bytes.Str(c.Key));
        Assert.Equal("changed", Bytes.Str(c.Value));
        Assert.True(c.Prev());
        Assert.Equal("c", Bytes.Str(c.Key));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Cursor_DeletingEachKeyWhileIterating_VisitsEveryKeyOnce(bool backwards)
    {
        using var dir = new TempDir();
        var keys = Enumerable.Range(0, 3000).Select(i => $"k{i:D5}").ToArray();
        using var db = WithKeys(dir, keys);
        Assert.True(db.GetStats().Main.Depth >= 2);
        using (var tx = db.BeginWrite())
        using (var c = tx.OpenCursor())
        {
            var visited = new List<string>();
            for (bool ok = backwards ? c.Last() : c.First(); ok; ok = backwards ? c.Prev() : c.Next())
            {
                string k = Bytes.Str(c.Key);
                Assert.Equal("v" + k, Bytes.Str(c.Value));
                visited.Add(k);
                Assert.True(tx.Delete(Bytes.Of(k)), k);
            }
            Assert.Equal(backwards ? keys.Reverse() : keys, visited);
            Assert.False(c.First());
            tx.Commit();
        }
        Assert.Equal(0, db.GetStats().Main.Entries);
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    [Fact]
    public void Cursor_DeletingEveryOtherKeyAhead_NextSkipsDeletedEntries()
    {
        using var dir = new TempDir();
        var keys = Enumerable.Range(0, 2000).Select(i => $"k{i:D5}").ToArray();
        using var db = WithKeys(dir, keys);
        using var tx = db.BeginWrite();
        using var c = tx.OpenCursor();
        var visited = new List<string>();
        for (bool ok = c.First(); ok; ok = c.Next())
        {
            string k = Bytes.Str(c.Key);
            visited.Add(k);
            int i = int.Parse(k[1..]);
            if (i + 1 < keys.Length) Assert.True(tx.Delete(Bytes.Of(keys[i + 1]))); // the successor goes
        }
        Assert.Equal(keys.Where((_, i) => i % 2 == 0), visited);
    }
}
