using System.Buffers.Binary;
using System.Text;
using MmapKv.Format;

namespace MmapKv.Fuzz;

/// <summary>
/// Makes one file-mode case from a seed: raw damage (bit flips, byte runs, random bytes, zeroed, swapped and
/// duplicated pages, truncation, extension) and structural edits that recompute the meta or page checksum, so the
/// engine's structure checks are reached past the checksums (meta fields, node slots, counts, kinds, child ids,
/// overflow references and headers, free-map directory and bitmap bits).
/// </summary>
internal sealed class Mutator
{
    private readonly SeedInfo _seed;
    private readonly Random _rng;
    private readonly StringBuilder _log = new();
    private byte[] _b;
    private readonly int _ps;

    private Mutator(SeedInfo seed, Random rng)
    {
        _seed = seed;
        _rng = rng;
        _b = (byte[])seed.Bytes.Clone();
        _ps = seed.PageSize;
    }

    /// <summary>Case <paramref name="caseSeed"/>: which seed, which mutations. Deterministic.</summary>
    public static (byte[] Data, string Log, string SeedName) Make(IReadOnlyList<SeedInfo> seeds, ulong caseSeed, bool mutate = true)
    {
        var rng = Seeds.Rng(caseSeed);
        if (!mutate) return ((byte[])seeds[0].Bytes.Clone(), "none (the seed file as it is)", seeds[0].Name);
        var seed = seeds[rng.Next(seeds.Count)];
        var m = new Mutator(seed, rng);
        int n = rng.Next(10) switch { < 6 => 1, < 8 => 2, 8 => 3, _ => 1 + rng.Next(6) };
        for (int i = 0; i < n; i++)
        {
            // A mutation reads offsets from a file earlier mutations damaged (or truncated); one that trips over
            // them is skipped.
            try { m.MutateOnce(); }
            catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or OverflowException or InvalidOperationException)
            {
                m.Note($"(mutation skipped: {e.GetType().Name})");
            }
        }
        return (m._b, m._log.ToString(), seed.Name);
    }

    private long FilePages => _b.Length / _ps;
    private void Note(string s) => _log.Append(s).Append("; ");

    private void MutateOnce()
    {
        bool structured = _seed.Nodes.Count > 0 || _seed.Bitmaps.Count > 0;
        int roll = _rng.Next(100);
        if (roll < 22) MetaEdit();
        else if (roll < 60 && structured) NodeEdit();
        else if (roll < 68 && _seed.Runs.Count > 0) OverflowEdit();
        else if (roll < 78 && _seed.FreeMapDirectory != 0) FreeMapEdit();
        else RawEdit();
    }

    // ---------------------------------------------------------------- interesting values

    private long InterestingPageId(long self = -1)
    {
        long pc = _seed.PageCount;
        switch (_rng.Next(22))
        {
            case 0: return 0;
            case 1: return 1;
            case 2: return 2;
            case 3: return pc - 1;
            case 4: return pc;
            case 5: return pc + 1;
            case 6: return FilePages;
            case 7: return -1;
            case 8: return long.MinValue;
            case 9: return long.MaxValue;
            case 10: return 1L << 31;
            case 11: return 1L << 32;
            case 12: return 1L << 50;
            case 13: return self >= 0 ? self : 2;
            case 14: return _seed.Nodes.Count > 0 ? _seed.Nodes[_rng.Next(_seed.Nodes.Count)].Id : 2;
            case 15: return _seed.Runs.Count > 0 ? _seed.Runs[_rng.Next(_seed.Runs.Count)].First : 3;
            case 16: return _seed.Runs.Count > 0 ? _seed.Runs[_rng.Next(_seed.Runs.Count)].First + 1 : 3;
            case 17: return _seed.Bitmaps.Count > 0 ? _seed.Bitmaps[_rng.Next(_seed.Bitmaps.Count)] : 2;
            case 18: return _seed.FreeMapDirectory != 0 ? _seed.FreeMapDirectory : 2;
            case 19: return self >= 0 && _seed.ById.TryGetValue(self, out var n) && n.Parent != 0 ? n.Parent : 2;
            case 20: return _seed.Roots.Count > 0 ? _seed.Roots.Values.ElementAt(_rng.Next(_seed.Roots.Count)) : 2;
            default: return 2 + _rng.NextInt64(Math.Max(1, pc - 2));
        }
    }

    private long InterestingCount(long current) => _rng.Next(12) switch
    {
        0 => 0,
        1 => 1,
        2 => -1,
        3 => current + 1,
        4 => current - 1,
        5 => long.MaxValue,
        6 => long.MinValue,
        7 => int.MaxValue,
        8 => current * 2,
        9 => 1L << 40,
        _ => _rng.NextInt64(0, 1000),
    };

    private uint Interesting32(uint current, int pageSize) => _rng.Next(14) switch
    {
        0 => 0,
        1 => 1,
        2 => current + 1,
        3 => current - 1,
        4 => (uint)pageSize,
        5 => (uint)pageSize - 1,
        6 => (uint)pageSize + 1,
        7 => 0xFFFF,
        8 => 0x10000,
        9 => 0x7FFFFFFF,
        10 => 0x80000000,
        11 => 0xFFFFFFFF,
        12 => 32,
        _ => (uint)_rng.Next(),
    };

    private ushort Interesting16(int current, int pageSize) => (ushort)(_rng.Next(12) switch
    {
        0 => 0,
        1 => 1,
        2 => current + 1,
        3 => current - 1,
        4 => pageSize - 1,
        5 => pageSize,
        6 => pageSize - 8,
        7 => 0xFFFF,
        8 => 0x8000,
        9 => 32,
        10 => Limits.MaxKeySize(pageSize) + 1,
        _ => _rng.Next(0x10000),
    });

    // ---------------------------------------------------------------- checksums

    /// <summary>Recomputes the checksum of the meta slot at <paramref name="slot"/>.</summary>
    private void FixMeta(int slot)
    {
        long off = (long)slot * _ps;
        if (off + MetaPage.Size > _b.Length) return;
        var span = _b.AsSpan((int)off, MetaPage.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(span[MetaPage.ChecksumOffset..], Checksum.Compute(span[..MetaPage.ChecksumOffset]));
    }

    /// <summary>Recomputes a page's checksum over its extent: the run length in its header for runs, else one page.</summary>
    private void FixPage(long id)
    {
        if (id < 2 || id >= FilePages) return;
        int off = (int)(id * _ps);
        var kind = (PageKind)_b[off + PageHeader.KindOffset];
        long pages = 1;
        if (kind is PageKind.Overflow or PageKind.FreeMapDirectory)
        {
            long run = BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan(off + PageHeader.RunPagesOffset));
            pages = Math.Clamp(run, 1, FilePages - id);
        }
        var span = _b.AsSpan(off, (int)(pages * _ps));
        BinaryPrimitives.WriteUInt32LittleEndian(span, Checksum.Compute(span[4..]));
    }

    private bool MaybeFix() => _rng.Next(20) != 0; // 5% leave the checksum stale

    // ---------------------------------------------------------------- meta

    private void MetaEdit()
    {
        int slot = _rng.Next(5) == 0 ? 1 - _seed.ActiveSlot : _seed.ActiveSlot;
        int off = slot * _ps;
        if (off + MetaPage.Size > _b.Length) { RawEdit(); return; }
        var m = _b.AsSpan(off, MetaPage.Size);
        int choice = _rng.Next(16);
        switch (choice)
        {
            case 0:
            {
                uint v = _rng.Next(6) switch { 0 => 0, 1 => 4095, 2 => (uint)_ps * 2, 3 => (uint)_ps / 2, 4 => 131072, _ => (uint)(4096 << _rng.Next(5)) };
                BinaryPrimitives.WriteUInt32LittleEndian(m[MetaPage.PageSizeOffset..], v);
                Note($"meta[{slot}].pageSize={v}");
                break;
            }
            case 1:
            {
                uint v = _rng.Next(3) switch { 0 => 0, 1 => 2, _ => 0xFFFFFFFF };
                BinaryPrimitives.WriteUInt32LittleEndian(m[MetaPage.VersionOffset..], v);
                Note($"meta[{slot}].version={v}");
                break;
            }
            case 2:
            {
                long v = _rng.Next(3) switch { 0 => -1, 1 => long.MaxValue, _ => _seed.TxnId + 1 };
                BinaryPrimitives.WriteInt64LittleEndian(m[MetaPage.TxnIdOffset..], v);
                Note($"meta[{slot}].txn={v}");
                break;
            }
            case 3:
            {
                // Fall back to the older slot: make it the newer one, so it references pages that may have been reused.
                int other = 1 - _seed.ActiveSlot;
                int o = other * _ps;
                if (o + MetaPage.Size <= _b.Length)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(_b.AsSpan(o + MetaPage.TxnIdOffset), _seed.TxnId + 1);
                    FixMeta(other);
                    Note($"meta[{other}] made newest");
                }
                return;
            }
            case 4:
            {
                // Both slots identical.
                int other = 1 - slot;
                if (other * _ps + MetaPage.Size <= _b.Length) m.CopyTo(_b.AsSpan(other * _ps, MetaPage.Size));
                Note($"meta[{slot}] copied to slot {other}");
                return;
            }
            case 5:
            {
                // Swap the two tree descriptors.
                var main = m.Slice(MetaPage.MainTreeOffset, TreeDescriptor.Size).ToArray();
                m.Slice(MetaPage.CatalogTreeOffset, TreeDescriptor.Size).CopyTo(m[MetaPage.MainTreeOffset..]);
                main.CopyTo(m[MetaPage.CatalogTreeOffset..]);
                Note($"meta[{slot}] main<->catalog");
                break;
            }
            case 6:
            {
                // Reserved bytes or descriptor flags (readers must ignore them).
                int at = _rng.Next(2) == 0 ? MetaPage.ReservedOffset + _rng.Next(MetaPage.ChecksumOffset - MetaPage.ReservedOffset)
                    : (_rng.Next(2) == 0 ? MetaPage.MainTreeOffset : MetaPage.CatalogTreeOffset) + TreeDescriptor.FlagsOffset;
                m[at] = (byte)_rng.Next(1, 256);
                Note($"meta[{slot}] reserved byte {at}");
                break;
            }
            case 7:
            {
                // Tail of the meta page past the record.
                if (off + _ps <= _b.Length) _b[off + MetaPage.Size + _rng.Next(_ps - MetaPage.Size)] ^= (byte)_rng.Next(1, 256);
                Note($"meta[{slot}] tail byte");
                return;
            }
            default:
            {
                // A u64 or u32 field: page count, free-map run, or a descriptor field.
                int field = _rng.Next(16);
                int at;
                string name;
                bool is32 = false;
                switch (field)
                {
                    case 0: at = MetaPage.PageCountOffset; name = "pageCount"; break;
                    case 1: at = MetaPage.FreeMapPageOffset; name = "freeMap"; break;
                    case 2: at = MetaPage.FreeMapPagesOffset; name = "freeMapPages"; break;
                    default:
                    {
                        bool main = field % 2 == 0;
                        int d = main ? MetaPage.MainTreeOffset : MetaPage.CatalogTreeOffset;
                        int which = _rng.Next(6);
                        at = d + which * 8;
                        is32 = which == 5;
                        name = (main ? "main." : "catalog.") + which switch { 0 => "root", 1 => "entries", 2 => "branch", 3 => "leaf", 4 => "overflow", _ => "depth" };
                        break;
                    }
                }
                if (is32)
                {
                    int cur = BinaryPrimitives.ReadInt32LittleEndian(m[at..]);
                    int v = _rng.Next(8) switch { 0 => 0, 1 => 1, 2 => cur + 1, 3 => cur - 1, 4 => Limits.MaxTreeDepth, 5 => Limits.MaxTreeDepth + 1, 6 => -1, _ => int.MaxValue };
                    BinaryPrimitives.WriteInt32LittleEndian(m[at..], v);
                    Note($"meta[{slot}].{name}={v}");
                }
                else
                {
                    long cur = BinaryPrimitives.ReadInt64LittleEndian(m[at..]);
                    long v = name.EndsWith("root", StringComparison.Ordinal) || name == "freeMap" || (name == "pageCount" && _rng.Next(2) == 0)
                        ? InterestingPageId() : InterestingCount(cur);
                    BinaryPrimitives.WriteInt64LittleEndian(m[at..], v);
                    Note($"meta[{slot}].{name}={v}");
                }
                break;
            }
        }
        if (_rng.Next(12) != 0) FixMeta(slot);
        else Note("meta checksum stale");
    }

    // ---------------------------------------------------------------- node pages

    private NodePage PickNode()
    {
        // Bias toward branches (their child ids steer every descent) and roots.
        if (_rng.Next(3) == 0)
        {
            var branches = _seed.Nodes.Where(n => n.Kind == PageKind.Branch).ToList();
            if (branches.Count > 0) return branches[_rng.Next(branches.Count)];
        }
        return _seed.Nodes[_rng.Next(_seed.Nodes.Count)];
    }

    private Span<byte> PageSpan(long id) => _b.AsSpan((int)(id * _ps), _ps);

    private void NodeEdit()
    {
        if (_seed.Nodes.Count == 0) { FreeMapEdit(); return; }
        var node = PickNode();
        if (node.Id >= FilePages) { RawEdit(); return; }
        var p = PageSpan(node.Id);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(p[PageHeader.CountOffset..]);
        int upper = (int)BinaryPrimitives.ReadUInt32LittleEndian(p[PageHeader.UpperOffset..]);
        int slots = Math.Min(count, (_ps - PageHeader.Size) / NodeLayout.SlotSize);
        int Slot(int i) => PageHeader.Size + i * NodeLayout.SlotSize;
        int RandomSlot() => slots == 0 ? 0 : _rng.Next(slots);
        int pageOff = (int)(node.Id * _ps);
        int EntryOff(int i) => BinaryPrimitives.ReadUInt16LittleEndian(_b.AsSpan(pageOff + Slot(i) + NodeLayout.SlotEntryOffset));
        int KeyLen(int i) => BinaryPrimitives.ReadUInt16LittleEndian(_b.AsSpan(pageOff + Slot(i) + NodeLayout.SlotKeyLengthOffset));
        bool TailOk(int i, int tail) => EntryOff(i) + KeyLen(i) + tail <= _ps;
        string where = $"{node.Kind}@{node.Id}({node.Tree},L{node.Level})";
        int choice = _rng.Next(22);
        switch (choice)
        {
            case 0:
            {
                ushort v = Interesting16(count, _ps);
                BinaryPrimitives.WriteUInt16LittleEndian(p[PageHeader.CountOffset..], v);
                Note($"{where}.count={v}");
                break;
            }
            case 1:
            {
                uint v = _rng.Next(3) == 0 ? (uint)(PageHeader.Size + count * NodeLayout.SlotSize + _rng.Next(-1, 2)) : Interesting32((uint)upper, _ps);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.UpperOffset..], v);
                Note($"{where}.upper={v}");
                break;
            }
            case 2:
            {
                byte v = (byte)_rng.Next(8) switch { 6 => 255, 7 => 6, var k => k };
                p[PageHeader.KindOffset] = v;
                Note($"{where}.kind={v}");
                break;
            }
            case 3:
            {
                int i = RandomSlot();
                ushort v = _rng.Next(3) == 0 ? (ushort)(upper + _rng.Next(-2, 3)) : Interesting16(EntryOff(i), _ps);
                BinaryPrimitives.WriteUInt16LittleEndian(p[(Slot(i) + NodeLayout.SlotEntryOffset)..], v);
                Note($"{where}.slot[{i}].offset={v}");
                break;
            }
            case 4:
            {
                int i = RandomSlot();
                ushort v = Interesting16(KeyLen(i), _ps);
                BinaryPrimitives.WriteUInt16LittleEndian(p[(Slot(i) + NodeLayout.SlotKeyLengthOffset)..], v);
                Note($"{where}.slot[{i}].keyLength={v}");
                break;
            }
            case 5:
            {
                int i = RandomSlot();
                uint v = _rng.Next(3) switch { 0 => 0, 1 => 0xFFFFFFFF, _ => (uint)_rng.Next() };
                BinaryPrimitives.WriteUInt32LittleEndian(p[(Slot(i) + NodeLayout.SlotHintOffset)..], v);
                Note($"{where}.slot[{i}].hint={v:x}");
                break;
            }
            case 6 or 7 or 8 when node.Kind == PageKind.Branch:
            {
                // A child id: self, an ancestor, a sibling, out of range, an overflow or free-map page...
                int i = RandomSlot();
                if (!TailOk(i, 8)) goto default;
                long v = _rng.Next(4) switch
                {
                    0 => node.Id,
                    1 when node.Parent != 0 => _seed.Ancestors(node.Id).ElementAt(_rng.Next(_seed.Ancestors(node.Id).Count())),
                    _ => InterestingPageId(node.Id),
                };
                BinaryPrimitives.WriteInt64LittleEndian(p[(EntryOff(i) + KeyLen(i))..], v);
                Note($"{where}.child[{i}]={v}");
                break;
            }
            case 9 when node.Kind == PageKind.Branch:
            {
                // Every child the same page: a DAG whose walk multiplies.
                long target = BinaryPrimitives.ReadInt64LittleEndian(p[(EntryOff(0) + KeyLen(0))..]);
                if (_rng.Next(2) == 0) target = InterestingPageId(node.Id);
                for (int i = 0; i < slots; i++)
                    if (TailOk(i, 8)) BinaryPrimitives.WriteInt64LittleEndian(p[(EntryOff(i) + KeyLen(i))..], target);
                Note($"{where}.allChildren={target}");
                break;
            }
            case 10 when node.Kind == PageKind.Branch:
            {
                int v = _rng.Next(1, 40);
                BinaryPrimitives.WriteUInt16LittleEndian(p[(Slot(0) + NodeLayout.SlotKeyLengthOffset)..], (ushort)v);
                Note($"{where}.entry0.keyLength={v}");
                break;
            }
            case 6 or 7 or 8 or 9 or 10 when node.Kind == PageKind.Leaf:
            {
                // The value-info word and the overflow reference.
                int i = RandomSlot();
                if (!TailOk(i, 4)) goto default;
                int at = EntryOff(i) + KeyLen(i);
                uint info = BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
                bool ovf = (info & NodeLayout.OverflowFlag) != 0;
                int k = _rng.Next(6);
                if (k == 0) info ^= NodeLayout.OverflowFlag;
                else if (k == 1) info = (info & NodeLayout.OverflowFlag) | (Interesting32(info & NodeLayout.LengthMask, _ps) & NodeLayout.LengthMask);
                else if (k == 2) info = (info & NodeLayout.OverflowFlag) | (uint)(_ps - at - 4 + _rng.Next(-1, 2)) & NodeLayout.LengthMask;
                else if (k == 3 && ovf && at + 12 <= _ps)
                {
                    long v = InterestingPageId(node.Id);
                    BinaryPrimitives.WriteInt64LittleEndian(p[(at + 4)..], v);
                    Note($"{where}.slot[{i}].overflowPage={v}");
                    break;
                }
                else info = (uint)_rng.Next() | (_rng.Next(2) == 0 ? NodeLayout.OverflowFlag : 0);
                BinaryPrimitives.WriteUInt32LittleEndian(p[at..], info);
                Note($"{where}.slot[{i}].info={info:x}");
                break;
            }
            case 11:
            {
                if (slots < 2) goto default;
                int i = RandomSlot(), j = RandomSlot();
                var a = p.Slice(Slot(i), 8).ToArray();
                p.Slice(Slot(j), 8).CopyTo(p[Slot(i)..]);
                if (_rng.Next(2) == 0) a.CopyTo(p[Slot(j)..]); // swap, else duplicate
                Note($"{where}.slots {i}<->{j}");
                break;
            }
            case 12:
            {
                // Page header: id, txn, flags, run pages.
                int k = _rng.Next(4);
                if (k == 0) BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.PageIdOffset..], InterestingPageId(node.Id));
                else if (k == 1) BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.TxnIdOffset..], _rng.Next(2) == 0 ? long.MaxValue : _seed.TxnId + 1);
                else if (k == 2) p[PageHeader.FlagsOffset] = (byte)_rng.Next(1, 256);
                else BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.RunPagesOffset..], Interesting32(1, _ps));
                Note($"{where}.header field {k}");
                break;
            }
            case 13:
            {
                // Garbage over the slot array.
                int len = Math.Min(slots * 8, 8 + _rng.Next(64));
                _rng.NextBytes(p.Slice(PageHeader.Size, Math.Max(len, 1)));
                Note($"{where} slot array garbage {len}");
                break;
            }
            case 14:
            {
                // Garbage in the entry heap (keys out of order, bad lengths and child ids).
                if (upper >= _ps || upper < PageHeader.Size) goto default;
                int start = upper + _rng.Next(_ps - upper);
                int len = Math.Min(_ps - start, 1 + _rng.Next(32));
                _rng.NextBytes(p.Slice(start, len));
                Note($"{where} heap garbage {start}+{len}");
                break;
            }
            case 15:
            {
                // Make a key huge or empty by pointing it at the end of the heap.
                int i = RandomSlot();
                int len = _rng.Next(3) switch { 0 => 0, 1 => Limits.MaxKeySize(_ps) + 1, _ => _ps - EntryOff(i) };
                BinaryPrimitives.WriteUInt16LittleEndian(p[(Slot(i) + NodeLayout.SlotKeyLengthOffset)..], (ushort)Math.Max(0, len));
                Note($"{where}.slot[{i}].keyLength={len}");
                break;
            }
            case 16:
            {
                // Reverse the slot order (keys descending).
                for (int i = 0, j = slots - 1; i < j; i++, j--)
                {
                    var a = p.Slice(Slot(i), 8).ToArray();
                    p.Slice(Slot(j), 8).CopyTo(p[Slot(i)..]);
                    a.CopyTo(p[Slot(j)..]);
                }
                Note($"{where} slots reversed");
                break;
            }
            case 17:
            {
                // Two entries overlapping: one slot's offset moved into another's entry.
                if (slots < 2) goto default;
                int i = RandomSlot(), j = RandomSlot();
                ushort v = (ushort)(EntryOff(j) + _rng.Next(0, Math.Max(1, KeyLen(j))));
                BinaryPrimitives.WriteUInt16LittleEndian(p[(Slot(i) + NodeLayout.SlotEntryOffset)..], v);
                Note($"{where}.slot[{i}] overlaps slot {j}");
                break;
            }
            case 18:
            {
                // A valid page of another kind or tree copied here (misplaced, with this page's id so it looks right).
                var other = _seed.Nodes[_rng.Next(_seed.Nodes.Count)];
                if (other.Id >= FilePages) goto default;
                PageSpan(other.Id).CopyTo(p);
                BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.PageIdOffset..], node.Id);
                Note($"{where} := copy of {other.Kind}@{other.Id}");
                break;
            }
            case 19:
            {
                // Count larger than the slots the heap allows, with upper adjusted so the header check passes.
                int c = Math.Min((_ps - PageHeader.Size) / NodeLayout.SlotSize, count + 1 + _rng.Next(8));
                BinaryPrimitives.WriteUInt16LittleEndian(p[PageHeader.CountOffset..], (ushort)c);
                int u = Math.Max(upper, PageHeader.Size + c * NodeLayout.SlotSize);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.UpperOffset..], (uint)u);
                Note($"{where}.count={c},upper={u}");
                break;
            }
            case 20:
            {
                // Empty page (T4 violation) that still passes N3 except count.
                BinaryPrimitives.WriteUInt16LittleEndian(p[PageHeader.CountOffset..], 1);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.UpperOffset..], (uint)(_ps - _rng.Next(0, 16)));
                Note($"{where} shrunk to one slot at the page end");
                break;
            }
            default:
            {
                int at = _rng.Next(_ps);
                p[at] ^= (byte)(1 << _rng.Next(8));
                Note($"{where} bitflip {at}");
                break;
            }
        }
        if (MaybeFix()) FixPage(node.Id);
        else Note("page checksum stale");
    }

    // ---------------------------------------------------------------- overflow runs

    private void OverflowEdit()
    {
        var run = _seed.Runs[_rng.Next(_seed.Runs.Count)];
        if (run.First >= FilePages) { RawEdit(); return; }
        var p = PageSpan(run.First);
        int k = _rng.Next(6);
        switch (k)
        {
            case 0: BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.UpperOffset..], Interesting32(BinaryPrimitives.ReadUInt32LittleEndian(p[PageHeader.UpperOffset..]), _ps)); break;
            case 1: BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.RunPagesOffset..], Interesting32((uint)run.Pages, _ps)); break;
            case 2: p[PageHeader.KindOffset] = (byte)_rng.Next(0, 7); break;
            case 3: BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.PageIdOffset..], InterestingPageId(run.First)); break;
            case 4:
            {
                // Value bytes (only the checksum notices).
                long len = run.Pages * _ps;
                long at = run.First * _ps + PageHeader.Size + _rng.NextInt64(Math.Max(1, len - PageHeader.Size));
                if (at < _b.Length) _b[at] ^= 0x5A;
                break;
            }
            default:
            {
                // Upper and run pages consistent with each other, but not with the leaf's reference.
                uint len = (uint)_rng.Next(0, 5 * _ps);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.UpperOffset..], len);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.RunPagesOffset..], (uint)NodeLayout.OverflowRunPages(_ps, len));
                break;
            }
        }
        Note($"overflow@{run.First}+{run.Pages} field {k}");
        if (MaybeFix()) FixPage(run.First);
    }

    // ---------------------------------------------------------------- free map

    private void FreeMapEdit()
    {
        if (_seed.FreeMapDirectory == 0 || _seed.FreeMapDirectory >= FilePages) { RawEdit(); return; }
        long dir = _seed.FreeMapDirectory;
        bool onBitmap = _seed.Bitmaps.Count > 0 && _rng.Next(3) != 0;
        if (onBitmap)
        {
            int bi = _rng.Next(_seed.Bitmaps.Count);
            long id = _seed.Bitmaps[bi];
            if (id >= FilePages) return;
            var p = PageSpan(id);
            long bitsPer = (long)(_ps - PageHeader.Size) * 8;
            int pageOff = (int)(id * _ps);
            void SetBit(long page, bool free)
            {
                long bit = page - bi * bitsPer;
                if (bit < 0 || bit >= bitsPer) return;
                int at = pageOff + PageHeader.Size + (int)(bit >> 3);
                byte mask = (byte)(1 << (int)(bit & 7));
                _b[at] = free ? (byte)(_b[at] | mask) : (byte)(_b[at] & ~mask);
            }
            int k = _rng.Next(9);
            switch (k)
            {
                case 0 or 1 or 2:
                {
                    // Mark live pages free: the writer will reuse pages a tree still references.
                    var live = _seed.Reachable.ToList();
                    int n = 1 + _rng.Next(Math.Min(8, Math.Max(1, live.Count)));
                    for (int i = 0; i < n && live.Count > 0; i++) SetBit(live[_rng.Next(live.Count)], true);
                    if (_rng.Next(3) == 0) SetBit(dir, true);
                    if (_rng.Next(3) == 0) SetBit(id, true);
                    Note($"bitmap@{id}: {n} live pages marked free");
                    break;
                }
                case 3: SetBit(_rng.Next(2), true); Note($"bitmap@{id}: meta page marked free"); break;
                case 4: SetBit(_seed.PageCount + _rng.Next(0, 3), true); Note($"bitmap@{id}: page past the count marked free"); break;
                case 5: p[PageHeader.Size..].Fill(0xFF); Note($"bitmap@{id}: all free"); break;
                case 6: p[PageHeader.Size..].Clear(); Note($"bitmap@{id}: none free"); break;
                case 7: p[PageHeader.KindOffset] = (byte)_rng.Next(0, 7); Note($"bitmap@{id}: kind"); break;
                default: BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.PageIdOffset..], InterestingPageId(id)); Note($"bitmap@{id}: page id"); break;
            }
            if (MaybeFix()) FixPage(id);
            return;
        }
        var d = PageSpan(dir);
        int count = (int)Math.Min(BinaryPrimitives.ReadInt64LittleEndian(d[PageHeader.Size..]), (_ps - PageHeader.Size - 8) / 8);
        int kd = _rng.Next(6);
        switch (kd)
        {
            case 0: BinaryPrimitives.WriteInt64LittleEndian(d[PageHeader.Size..], InterestingCount(count)); break;
            case 1 when count > 0:
            {
                int i = _rng.Next(count);
                BinaryPrimitives.WriteInt64LittleEndian(d[(PageHeader.Size + 8 + 8 * i)..], InterestingPageId(dir));
                break;
            }
            case 2: BinaryPrimitives.WriteUInt32LittleEndian(d[PageHeader.UpperOffset..], Interesting32((uint)(8 + 8 * count), _ps)); break;
            case 3: BinaryPrimitives.WriteUInt32LittleEndian(d[PageHeader.RunPagesOffset..], Interesting32((uint)_seed.FreeMapDirectoryPages, _ps)); break;
            case 4: d[PageHeader.KindOffset] = (byte)_rng.Next(0, 7); break;
            default:
            {
                // Duplicate bitmap ids, so two bitmaps share one page.
                if (count >= 2) BinaryPrimitives.WriteInt64LittleEndian(d[(PageHeader.Size + 16)..], BinaryPrimitives.ReadInt64LittleEndian(d[(PageHeader.Size + 8)..]));
                break;
            }
        }
        Note($"freemap directory@{dir} field {kd}");
        if (MaybeFix()) FixPage(dir);
    }

    // ---------------------------------------------------------------- raw damage

    private void RawEdit()
    {
        int len = _b.Length;
        int k = _rng.Next(13);
        switch (k)
        {
            case 0 or 1:
            {
                int n = 1 + _rng.Next(16);
                // Anywhere, in a meta record, or in a page header.
                int zone = _rng.Next(3);
                for (int i = 0; i < n && len > 0; i++)
                {
                    long at = zone switch
                    {
                        0 => _rng.NextInt64(len),
                        1 => (_rng.Next(2) * (long)_ps) + _rng.Next(MetaPage.Size),
                        _ => _rng.NextInt64(Math.Max(1, FilePages)) * _ps + _rng.Next(PageHeader.Size + 64),
                    };
                    if (at < len) _b[at] ^= (byte)(1 << _rng.Next(8));
                }
                Note($"bitflips x{n} zone {zone}");
                MaybeFixTouched();
                break;
            }
            case 2:
            {
                if (len == 0) break;
                int start = _rng.Next(len);
                int n = Math.Min(len - start, 1 + _rng.Next(256));
                byte v = _rng.Next(4) switch { 0 => 0, 1 => 0xFF, 2 => 0x80, _ => (byte)_rng.Next(256) };
                _b.AsSpan(start, n).Fill(v);
                Note($"run {start}+{n}={v:x2}");
                MaybeFixTouched();
                break;
            }
            case 3:
            {
                if (len == 0) break;
                int start = _rng.Next(len);
                int n = Math.Min(len - start, 1 + _rng.Next(_ps));
                _rng.NextBytes(_b.AsSpan(start, n));
                Note($"random bytes {start}+{n}");
                break;
            }
            case 4:
            {
                long id = _rng.NextInt64(Math.Max(1, FilePages));
                if ((id + 1) * _ps <= len) _b.AsSpan((int)(id * _ps), _ps).Clear();
                Note($"zero page {id}");
                break;
            }
            case 5 or 6:
            {
                if (FilePages < 2) break;
                long a = _rng.NextInt64(FilePages), c = _rng.NextInt64(FilePages);
                var pa = _b.AsSpan((int)(a * _ps), _ps);
                var pc = _b.AsSpan((int)(c * _ps), _ps);
                if (k == 5)
                {
                    var tmp = pa.ToArray();
                    pc.CopyTo(pa);
                    tmp.CopyTo(pc);
                    Note($"swap pages {a},{c}");
                }
                else
                {
                    pa.CopyTo(pc);
                    Note($"duplicate page {a} over {c}");
                }
                break;
            }
            case 7 or 8:
            {
                long newLen = _rng.Next(7) switch
                {
                    0 => _rng.Next(0, MetaPage.Size + 1),
                    1 => _ps + _rng.Next(0, MetaPage.Size + 1),
                    2 => _rng.NextInt64(Math.Max(1, FilePages)) * _ps,
                    3 => _rng.NextInt64(Math.Max(1, FilePages)) * _ps + _rng.Next(1, _ps),
                    4 => Math.Max(0, len - 1),
                    5 => Math.Max(0, len - _ps),
                    _ => _rng.NextInt64(len + 1),
                };
                newLen = Math.Clamp(newLen, 0, len);
                Array.Resize(ref _b, (int)newLen);
                Note($"truncate to {newLen}");
                break;
            }
            case 9 or 10:
            {
                int extra = _rng.Next(5) switch { 0 => 1, 1 => _ps, 2 => 3 * _ps + 17, 3 => _rng.Next(1, 100), _ => _rng.Next(1, 1 << 20) };
                int old = len;
                Array.Resize(ref _b, old + extra);
                bool garbage = _rng.Next(2) == 0;
                if (garbage) _rng.NextBytes(_b.AsSpan(old));
                Note($"extend by {extra} {(garbage ? "garbage" : "zeros")}");
                break;
            }
            case 11:
            {
                // Page-aligned garbage page with a valid-looking header and checksum.
                if (FilePages < 3) break;
                long id = 2 + _rng.NextInt64(FilePages - 2);
                var p = _b.AsSpan((int)(id * _ps), _ps);
                _rng.NextBytes(p);
                p[PageHeader.KindOffset] = (byte)_rng.Next(1, 6);
                p[PageHeader.FlagsOffset] = 0;
                BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.PageIdOffset..], id);
                BinaryPrimitives.WriteInt64LittleEndian(p[PageHeader.TxnIdOffset..], 1);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.RunPagesOffset..], 1);
                FixPage(id);
                Note($"garbage page {id} with valid header");
                break;
            }
            default:
            {
                // A page of random slots that pass the header checks (count/upper consistent).
                if (_seed.Nodes.Count == 0) goto case 3;
                var node = _seed.Nodes[_rng.Next(_seed.Nodes.Count)];
                if (node.Id >= FilePages) break;
                var p = PageSpan(node.Id);
                int count = 1 + _rng.Next(Math.Min(40, (_ps - PageHeader.Size) / 8));
                int upper = PageHeader.Size + count * 8 + _rng.Next(0, 64);
                BinaryPrimitives.WriteUInt16LittleEndian(p[PageHeader.CountOffset..], (ushort)count);
                BinaryPrimitives.WriteUInt32LittleEndian(p[PageHeader.UpperOffset..], (uint)upper);
                for (int i = 0; i < count; i++)
                {
                    int s = PageHeader.Size + i * 8;
                    BinaryPrimitives.WriteUInt16LittleEndian(p[(s + 4)..], (ushort)_rng.Next(upper, _ps + 2));
                    BinaryPrimitives.WriteUInt16LittleEndian(p[(s + 6)..], (ushort)_rng.Next(0, _rng.Next(2) == 0 ? 16 : _ps));
                }
                _rng.NextBytes(p[upper..]);
                FixPage(node.Id);
                Note($"{node.Kind}@{node.Id} random slots x{count}");
                break;
            }
        }
    }

    /// <summary>After raw damage, sometimes recompute the checksums of every meta slot and node page, so it reaches structure checks.</summary>
    private void MaybeFixTouched()
    {
        if (_rng.Next(3) != 0) return;
        FixMeta(0);
        FixMeta(1);
        foreach (var n in _seed.Nodes) FixPage(n.Id);
        foreach (var r in _seed.Runs) FixPage(r.First);
        foreach (var b in _seed.Bitmaps) FixPage(b);
        if (_seed.FreeMapDirectory != 0) FixPage(_seed.FreeMapDirectory);
        Note("all checksums recomputed");
    }
}
