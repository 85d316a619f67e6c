using System.Runtime.CompilerServices;
using System.Text;
using MmapKv.BTree;
using MmapKv.Format;
using MmapKv.Pages;

namespace MmapKv.Simulation;

/// <summary>
/// Crafted hostile database files, valid in every header, checksum and meta field, wrong only in their page graph.
/// Used by the fuzzer's corpus and by the regression tests.
/// </summary>
public static unsafe class HostileFiles
{
    /// <summary>
    /// A hostile file: a named tree "dag" (and the default tree) whose <paramref name="depth"/>-level branch chain has
    /// <paramref name="fanout"/> children per page, all pointing at the next page: a DAG with fanout^(depth-1) paths
    /// over depth pages. Every header, checksum and meta field is valid; only the page sharing is wrong.
    /// </summary>
    public static byte[] Dag(int ps, int depth, int fanout)
    {
        long leafId = 3 + depth - 1;
        long pageCount = leafId + 1;
        var b = new byte[pageCount * ps];
        fixed (byte* p = b)
        {
            Span<byte> raw = stackalloc byte[64];
            for (int level = 0; level < depth - 1; level++)
            {
                long id = 3 + level;
                byte* page = p + id * ps;
                NodeWriter.Init(page, PageKind.Branch, id, 1, ps);
                for (int j = 0; j < fanout; j++)
                {
                    int keyLength = j == 0 ? 0 : 2;
                    raw[0] = (byte)(j >> 8);
                    raw[1] = (byte)j;
                    Unsafe.WriteUnaligned(ref raw[keyLength], id + 1);
                    NodeWriter.Append(page, raw[..(keyLength + 8)], keyLength);
                }
            }
            WriteLeaf(p + leafId * ps, leafId, ps, "a"u8, "b"u8);
            var dag = new TreeDescriptor { Root = 3, Depth = depth, Entries = 1, BranchPages = depth - 1, LeafPages = 1 };
            WriteCatalogLeaf(p + 2L * ps, 2, ps, "dag", dag);
            for (long id = 2; id < pageCount; id++) Seal(p + id * ps, ps);
            MetaPage.Write(p, new MetaRecord
            {
                PageSize = ps, TxnId = 1, PageCount = pageCount,
                Main = dag,
                Catalog = new TreeDescriptor { Root = 2, Depth = 1, Entries = 1, LeafPages = 1 },
            });
        }
        return b;
    }

    /// <summary>
    /// A hostile file whose trees are cycles: a branch whose only child is itself (depth 40), and a named tree whose
    /// root branch points back at the catalog leaf. Headers and checksums are valid.
    /// </summary>
    public static byte[] Cycle(int ps)
    {
        const long pageCount = 6;
        var b = new byte[pageCount * ps];
        fixed (byte* p = b)
        {
            Span<byte> raw = stackalloc byte[16];
            // Page 3: a branch whose children are itself and page 4 (a leaf).
            byte* self = p + 3L * ps;
            NodeWriter.Init(self, PageKind.Branch, 3, 1, ps);
            Unsafe.WriteUnaligned(ref raw[0], 3L);
            NodeWriter.Append(self, raw[..8], 0);
            raw[0] = (byte)'m';
            Unsafe.WriteUnaligned(ref raw[1], 4L);
            NodeWriter.Append(self, raw[..9], 1);
            WriteLeaf(p + 4L * ps, 4, ps, "z"u8, "leaf"u8);
            // Page 5: a branch pointing at the catalog leaf (page 2).
            byte* back = p + 5L * ps;
            NodeWriter.Init(back, PageKind.Branch, 5, 1, ps);
            Unsafe.WriteUnaligned(ref raw[0], 2L);
            NodeWriter.Append(back, raw[..8], 0);
            WriteCatalogLeaf(p + 2L * ps, 2, ps, "cyc", new TreeDescriptor { Root = 5, Depth = 2, Entries = 1, BranchPages = 1, LeafPages = 1 });
            for (long id = 2; id < pageCount; id++) Seal(p + id * ps, ps);
            MetaPage.Write(p, new MetaRecord
            {
                PageSize = ps, TxnId = 1, PageCount = pageCount,
                Main = new TreeDescriptor { Root = 3, Depth = Limits.MaxTreeDepth, Entries = 1, BranchPages = 1, LeafPages = 1 },
                Catalog = new TreeDescriptor { Root = 2, Depth = 1, Entries = 1, LeafPages = 1 },
            });
        }
        return b;
    }

    private static void WriteLeaf(byte* page, long id, int ps, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        NodeWriter.Init(page, PageKind.Leaf, id, 1, ps);
        var raw = new byte[key.Length + 4 + value.Length];
        key.CopyTo(raw);
        Unsafe.WriteUnaligned(ref raw[key.Length], (uint)value.Length);
        value.CopyTo(raw.AsSpan(key.Length + 4));
        NodeWriter.Append(page, raw, key.Length);
    }

    private static void WriteCatalogLeaf(byte* page, long id, int ps, string name, TreeDescriptor desc)
    {
        var value = new byte[TreeDescriptor.Size];
        desc.Write(value);
        WriteLeaf(page, id, ps, Encoding.UTF8.GetBytes(name), value);
    }

    private static void Seal(byte* page, int ps) => PageHeader.SetChecksum(page, Checksum.OfPage(page, ps));
}
