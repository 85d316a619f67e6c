using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MmapKv.Storage;

namespace MmapKv.Diagnostics;

/// <summary>
/// One transaction's guarded arena, used only with <see cref="KvOptions.DebugSpans"/> (docs/durability.md §12.5).
/// Every span the transaction hands out is a copy in native pages of its own (<see cref="GuardedMemory"/>); when the
/// spans' lifetime ends (the transaction ends, or, in a write transaction, its next write) the pages are made
/// inaccessible, so a later use faults at the misuse site instead of reading another transaction's data.
/// </summary>
/// <remarks>
/// <para>A <see cref="Reserve"/> span is redirected: the caller fills a page-aligned copy, and the bytes are copied
/// into the real value before every read the transaction does (so a lookup in between sees them) and before the
/// next write or the commit; the copy is retired after that write, or at the commit. A write through the span
/// after that faults.</para>
/// <para>Called only inside the transaction's use mark (<see cref="KvTransaction.Use(long)"/>), or at its end, so
/// one thread at a time. Allocates its pages lazily: a transaction that hands out no span costs no system call.</para>
/// </remarks>
internal sealed unsafe class SpanGuard
{
    private const int MinChunk = 64 << 10;

    private readonly List<(nint Start, nuint Length)> _chunks = [];
    private readonly List<(nint Copy, nint Target, int Length)> _reserves = [];
    private nint _next;
    private nint _end;

    /// <summary>A guarded copy of <paramref name="source"/>, valid until <see cref="EndSpans"/> or <see cref="DropSpans"/>.</summary>
    public ReadOnlySpan<byte> Copy(ReadOnlySpan<byte> source)
    {
        // Pending reserved values reach their pages first, so what this read returned saw them.
        if (_reserves.Count != 0) SyncReserves();
        if (source.IsEmpty) return default;
        nint p = Alloc(source.Length, pageAligned: false);
        var copy = new Span<byte>((void*)p, source.Length);
        source.CopyTo(copy);
        return copy;
    }

    /// <summary>Copies a key and a value (a scan's entry).</summary>
    public void Copy(ref ReadOnlySpan<byte> key, ref ReadOnlySpan<byte> value)
    {
        key = Copy(key);
        value = Copy(value);
    }

    /// <summary>
    /// A writable stand-in for the reserved value <paramref name="target"/> (where it lives in its page), starting
    /// with its current bytes; page-aligned, so it shares no page with read copies made before it.
    /// </summary>
    public Span<byte> Reserve(Span<byte> target)
    {
        if (target.IsEmpty) return default;
        nint p = Alloc(target.Length, pageAligned: true);
        var copy = new Span<byte>((void*)p, target.Length);
        target.CopyTo(copy);
        _reserves.Add((p, (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(target)), target.Length));
        return copy;
    }

    /// <summary>
    /// Before a write of a write transaction: reserved values are copied into their pages, which the write may
    /// move, and their copies can no longer reach them. The spans stay readable during the write (a value taken
    /// from this transaction may be what is written); <see cref="EndWrite"/> retires them after it.
    /// </summary>
    public void BeginWrite()
    {
        if (_reserves.Count != 0) SyncReserves();
        _reserves.Clear();
    }

    /// <summary>After a write (done or failed): the spans handed out before it end.</summary>
    public void EndWrite() => DropSpans();

    /// <summary>Before the commit: reserved values are copied into their pages, then every page is retired.</summary>
    public void EndSpans()
    {
        if (_reserves.Count != 0) SyncReserves();
        DropSpans();
    }

    /// <summary>The transaction ends without committing: retire every page; reserved values are not copied.</summary>
    public void DropSpans()
    {
        _reserves.Clear();
        foreach (var (start, length) in _chunks) GuardedMemory.Retire(start, length);
        _chunks.Clear();
        _next = _end = 0;
    }

    private void SyncReserves()
    {
        foreach (var (copy, target, length) in _reserves)
            new ReadOnlySpan<byte>((void*)copy, length).CopyTo(new Span<byte>((void*)target, length));
    }

    private nint Alloc(int length, bool pageAligned)
    {
        nint page = GuardedMemory.PageSize;
        nint p = pageAligned ? (_next + page - 1) & ~(page - 1) : _next;
        if (_chunks.Count == 0 || _end - p < length)
        {
            // A value may be up to 2^31 - 1 bytes: round in nuint.
            nuint size = Math.Max((nuint)MinChunk, ((nuint)length + (nuint)page - 1) & ~((nuint)page - 1));
            p = GuardedMemory.Allocate(size);
            _chunks.Add((p, size));
            _end = p + (nint)size;
        }
        _next = p + length;
        return p;
    }
}
