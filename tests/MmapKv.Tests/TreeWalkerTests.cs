using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>The repeat rule of <see cref="TreeWalker"/>: every page once; a page reached again is reported, never descended.</summary>
public sealed unsafe class TreeWalkerTests
{
    private sealed class Recorder : ITreeVisitor
    {
        public readonly List<long> Nodes = new();
        public readonly List<(long Page, long From)> Repeats = new();
        public void Node(Node node, int level, KeyBounds bounds) => Nodes.Add(node.Id);
        public void OverflowRun(long first, long runPages, long leaf) => Nodes.Add(first);
        public void Repeated(long pageId, long fromPageId, string reason) => Repeats.Add((pageId, fromPageId));
    }

    [Fact]
    public void SharedSubtrees_AreVisitedOnceAndEachRepeatIsReported()
    {
        // Root 3 has four children, all page 4; page 4 has four children, all leaf 5.
        byte[] file = HostileFiles.Dag(4096, depth: 3, fanout: 4);
        fixed (byte* p = file)
        {
            var ctx = new PageContext(p, 4096, file.Length / 4096);
            var meta = MetaPage.TryRead(p, file.Length, out _, out _)!.Value;
            var walker = new TreeWalker(ctx);
            var rec = new Recorder();
            walker.Walk(meta.Main, rec);
            Assert.Equal(new long[] { 3, 4, 5 }, rec.Nodes);
            Assert.Equal(new[] { (5L, 4L), (5L, 4L), (5L, 4L), (4L, 3L), (4L, 3L), (4L, 3L) }, rec.Repeats);

            // Pages are remembered across walks: the same tree again is a repeat of its root, and nothing is read.
            walker.Walk(meta.Main, rec);
            Assert.Equal(3, rec.Nodes.Count);
            Assert.Equal((3L, 0L), rec.Repeats[^1]);
        }
    }

    [Fact]
    public void DeleteTree_OfASharedSubtree_ThrowsCorruptNamingThePage()
    {
        using var dir = new TempDir();
        string path = dir.File("dag.mkv");
        File.WriteAllBytes(path, HostileFiles.Dag(4096, depth: 3, fanout: 4));
        using var db = KvDatabase.Open(path);
        using var tx = db.BeginWrite();
        var e = Assert.Throws<CorruptDatabaseException>(() => tx.DeleteTree("dag"));
        Assert.Equal(5, e.PageId);
    }
}
