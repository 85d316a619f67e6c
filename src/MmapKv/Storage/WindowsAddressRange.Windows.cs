using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static MmapKv.Storage.Kernel32;

namespace MmapKv.Storage;

/// <summary>
/// One address range reserved at open for the whole capacity, filled from its start by views of the file as the
/// file grows, and never moved (S1). Windows has no counterpart of a Unix mapping larger than its file: a view
/// cannot extend past its section, and a section cannot be larger than the file without growing it. So each
/// growth maps one more view, of a section created at the new file length, directly after the last one.
/// </summary>
/// <remarks>
/// Two ways to keep the rest of the range ours between growths:
/// <list type="bullet">
/// <item><b>Placeholders</b> (Windows 10 1803+): the range is one placeholder (<c>VirtualAlloc2</c> with
/// <c>MEM_RESERVE_PLACEHOLDER</c>); a growth splits off its part (<c>VirtualFree</c> with
/// <c>MEM_PRESERVE_PLACEHOLDER</c>) and replaces it with the view (<c>MapViewOfFile3</c> with
/// <c>MEM_REPLACE_PLACEHOLDER</c>). The range is never free, so nothing else can land in it.</item>
/// <item><b>Release and map</b> (where placeholders are refused; Wine 8 returns error 87): the rest of the range is
/// held by ordinary reservations (<c>VirtualAlloc</c> with <c>MEM_RESERVE</c>), a ladder of pieces doubling from
/// 64 KiB, since a reservation can only be released whole. A growth releases the pieces its view covers, maps the
/// view at exactly their start (<c>MapViewOfFileEx</c>) and reserves again what the last piece held past the view.
/// The hole is never much larger than the growth, so another thread's database (a reservation of its whole
/// capacity) cannot land in it. A smaller allocation by another thread still may, in the moment between the
/// release and the map: then the view (or the new reservation) fails, the range is re-reserved as far as it is
/// free, and the growth fails with <see cref="DatabaseFullException"/>. To keep that moment harmless the range is
/// reserved in the middle of the address space (<see cref="FarFromBothEnds"/>): allocators take the first free fit
/// from the bottom or from the top, and the hole is terabytes away from either. Nothing already mapped moves, so readers
/// are never affected. The first view is the exception: before it nothing points into the range, so the whole
/// range moves to another free place and the view is tried again there.</item>
/// </list>
/// Views start at multiples of the allocation granularity (64 KiB), in the file and in the range; only the last
/// view, at the capacity, may end elsewhere. Views already mapped are never unmapped before <see cref="Dispose"/>.
/// Each view keeps its section alive, so section handles are closed at once.
/// </remarks>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsAddressRange : IDisposable
{
    /// <summary>Allocation granularity: views start at multiples of it, in the file and in the address space.</summary>
    public static readonly long Granularity = QueryGranularity();

    private readonly bool _writable;
    private long _mapped; // [0, _mapped) is covered by views
    // What is still reserved past the views: contiguous pieces, ascending, from RoundUp(_mapped). One placeholder
    // while _restIsPlaceholder; otherwise the ladder of plain reservations.
    private readonly List<(long Start, long End)> _rest = new();
    private bool _restIsPlaceholder;
    // Offsets where views start, ascending; replaced as a whole, so a flush on another thread sees a complete list.
    private long[] _viewStarts = [];

    /// <summary>Set by tests only: runs between the release of reserved address space and the mapping of a view.</summary>
    internal static Action<nint>? AfterReleaseForTests;

    private WindowsAddressRange(byte* start, long size, bool writable)
    {
        Base = start;
        Size = size;
        _writable = writable;
    }

    /// <summary>Start of the range.</summary>
    public byte* Base { get; private set; }

    /// <summary>Bytes reserved: the capacity rounded up to <see cref="Granularity"/>.</summary>
    public long Size { get; }

    /// <summary>Bytes from <see cref="Base"/> covered by views.</summary>
    public long Mapped => Volatile.Read(ref _mapped);

    /// <summary>Whether the range was reserved as a placeholder (false: the release-and-map fallback).</summary>
    public bool UsesPlaceholders { get; private init; }

    /// <summary>End of what is still reserved for growth.</summary>
    private long ReservedEnd => _rest.Count > 0 ? _rest[^1].End : RoundUp(_mapped);

    /// <summary>
    /// Reserves <paramref name="capacity"/> bytes (rounded up). Placeholders are tried first when
    /// <paramref name="tryPlaceholders"/>; where the OS refuses them, plain reservations are used.
    /// </summary>
    /// <exception cref="IOException">The address space cannot be reserved.</exception>
    public static WindowsAddressRange Reserve(long capacity, bool writable, bool tryPlaceholders, string reportAs)
    {
        long size = RoundUp(Math.Max(capacity, 1));
        if (tryPlaceholders)
        {
            void* p = null;
            try
            {
                p = VirtualAlloc2(0, null, (nuint)size, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, null, 0);
            }
            catch (EntryPointNotFoundException)
            {
                // Before Windows 10 1803: no placeholders.
            }
            if (p != null)
            {
                var placeholder = new WindowsAddressRange((byte*)p, size, writable) { UsesPlaceholders = true, _restIsPlaceholder = true };
                placeholder._rest.Add((0, size));
                return placeholder;
            }
        }
        var range = new WindowsAddressRange(null, size, writable);
        range.HoldLadderSomewhere(reportAs);
        return range;
    }

    /// <summary>
    /// Fallback only, while nothing is mapped: finds a free range of the whole <see cref="Size"/> and holds it as a
    /// ladder, moving <see cref="Base"/> there. Another thread may allocate in it between the two steps; nothing is
    /// mapped yet, so it simply tries again elsewhere.
    /// </summary>
    private void HoldLadderSomewhere(string reportAs)
    {
        int error = 0;
        for (int attempt = 0; attempt < 16; attempt++)
        {
            // Half the attempts ask for a place far from both ends of the address space, where neither kind of
            // allocator looks first; then anywhere.
            void* hint = attempt < 8 ? FarFromBothEnds(Size) : null;
            void* r = VirtualAlloc(hint, (nuint)Size, MEM_RESERVE, PAGE_NOACCESS);
            if (r == null && hint != null) continue; // that place is taken: try another
            if (r == null)
            {
                error = Marshal.GetLastPInvokeError();
                break;
            }
            VirtualFree(r, 0, MEM_RELEASE);
            Base = (byte*)r;
            if (ReserveFront(0, Size)) return;
            ReleaseRest();
        }
        Base = null;
        throw new IOException(
            $"Cannot reserve {Size} bytes of address space for {reportAs} ({(error == 0 ? "other allocations kept taking it" : Describe(error))}); set a smaller KvOptions.MaxSize.");
    }

    private void ReleaseRest()
    {
        foreach (var (start, _) in _rest) VirtualFree(Base + start, 0, MEM_RELEASE);
        _rest.Clear();
    }

    /// <summary>
    /// Maps <c>[Mapped, end)</c> of <paramref name="section"/> (a section of the file at least <paramref name="end"/>
    /// bytes long) at <c>Base + Mapped</c>. Only the last view may end off the granularity. On failure nothing
    /// already mapped changes.
    /// </summary>
    /// <exception cref="DatabaseFullException">Part of the range was taken by another allocation in this process
    /// (fallback only), so the file cannot be mapped past <see cref="Mapped"/> while this database is open.</exception>
    /// <exception cref="IOException">The view could not be mapped for another reason (error in the message).</exception>
    public void Map(nint section, long end, string reportAs)
    {
        // The first view may move the whole range: until it exists nothing can hold a pointer into the range (the
        // storage hands out Base only once the file is mapped), so S1 starts with it. Later views cannot move.
        for (int attempt = 0; !TryMap(section, end, reportAs); attempt++)
        {
            if (_mapped != 0 || UsesPlaceholders || attempt == 15) throw Taken(reportAs, _mapped);
            ReleaseRest();
            HoldLadderSomewhere(reportAs);
        }
    }

    /// <summary>One attempt of <see cref="Map"/>; false when part of the range was taken by another allocation.</summary>
    private bool TryMap(nint section, long end, string reportAs)
    {
        long start = _mapped;
        if (end <= start) return true;
        if (start % Granularity != 0 || end > Size)
            throw new InvalidOperationException($"Cannot map [{start}, {end}) of {reportAs}: the previous view ended off the allocation granularity, or the range is too small.");
        long viewEnd = RoundUp(end); // where the next view, and the reservation left, start
        if (viewEnd > ReservedEnd) return false;
        void* at = Base + start;
        nuint bytes = (nuint)(end - start);
        if (_restIsPlaceholder && end == viewEnd)
        {
            long restEnd = _rest[0].End;
            // Split off exactly this view's part of the placeholder (not needed when it is all that is left).
            if (viewEnd < restEnd && !VirtualFree(at, (nuint)(viewEnd - start), MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
                throw MapFailure("VirtualFree(MEM_PRESERVE_PLACEHOLDER)", reportAs);
            void* view = MapViewOfFile3(section, GetCurrentProcess(), at, (ulong)start, bytes, MEM_REPLACE_PLACEHOLDER,
                _writable ? PAGE_READWRITE : PAGE_READONLY, null, 0);
            if (view == null)
            {
                var failure = MapFailure("MapViewOfFile3", reportAs);
                // Join the split-off part back to the rest, so the next attempt starts from one placeholder again.
                if (viewEnd < restEnd) VirtualFree(at, (nuint)(restEnd - start), MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
                throw failure;
            }
            _rest.Clear();
            if (viewEnd < restEnd) _rest.Add((viewEnd, restEnd));
        }
        else
        {
            // The fallback, and in placeholder mode the one view that ends off the granularity (at the capacity):
            // a placeholder can only be replaced by a view of exactly its size.
            long released = ReleaseFront(viewEnd, reportAs);
            AfterReleaseForTests?.Invoke((nint)at);
            void* view = MapViewOfFileEx(section, _writable ? FILE_MAP_WRITE : FILE_MAP_READ, (uint)((ulong)start >> 32), (uint)start, bytes, at);
            if (view == null)
            {
                int error = Marshal.GetLastPInvokeError();
                ReserveFront(start, released);
                if (error == ERROR_INVALID_ADDRESS) return false;
                throw new IOException($"MapViewOfFileEx failed on {reportAs}: {Describe(error)}");
            }
            ReserveFront(viewEnd, released);
        }
        _viewStarts = [.. _viewStarts, start];
        Volatile.Write(ref _mapped, end);
        return true;
    }

    /// <summary>
    /// Replaces the last view, which ends off the granularity at <see cref="Mapped"/>, by one that ends at
    /// <paramref name="end"/>. The old view is unmapped first, so this is allowed only while nothing can touch
    /// its pages: <see cref="WindowsMappedFile"/> does it before the first store into a file opened with such a
    /// length, which is before any transaction exists.
    /// </summary>
    public void ExtendLast(nint section, long end, string reportAs)
    {
        if (end <= _mapped || _viewStarts.Length == 0) return;
        long start = _viewStarts[^1];
        // Once the old view is gone, [start, ReservedEnd) is ours: its granules and the reservation after them.
        if (RoundUp(end) > ReservedEnd) throw Taken(reportAs, ReservedEnd);
        long released = ReleaseFront(RoundUp(end), reportAs);
        if (!UnmapViewOfFile(Base + start)) throw MapFailure("UnmapViewOfFile", reportAs);
        _viewStarts = _viewStarts[..^1];
        Volatile.Write(ref _mapped, start);
        AfterReleaseForTests?.Invoke((nint)(Base + start));
        void* view = MapViewOfFileEx(section, _writable ? FILE_MAP_WRITE : FILE_MAP_READ, (uint)((ulong)start >> 32), (uint)start, (nuint)(end - start), Base + start);
        if (view == null)
        {
            int error = Marshal.GetLastPInvokeError();
            ReserveFront(start, Math.Max(released, RoundUp(end)));
            throw new IOException($"MapViewOfFileEx failed on {reportAs} while extending its last view: {Describe(error)}");
        }
        ReserveFront(RoundUp(end), Math.Max(released, RoundUp(end)));
        _viewStarts = [.. _viewStarts, start];
        Volatile.Write(ref _mapped, end);
    }

    /// <summary>
    /// A random, granularity-aligned start for <paramref name="size"/> bytes in the middle half of the user address
    /// space, or null where that space is too small to have a middle (a 32-bit process). The OS places an allocation
    /// without an address at the first free fit, searching from the bottom (most allocations) or from the top
    /// (<c>MEM_TOP_DOWN</c>, thread stacks under Wine); a range with terabytes free on both sides is never that first
    /// fit, so the brief hole a growth opens in it is not either.
    /// </summary>
    private static void* FarFromBothEnds(long size)
    {
        SystemInfo info;
        GetSystemInfo(&info);
        long top = info.MaximumApplicationAddress;
        long low = top / 4, high = top / 4 * 3 - size;
        if (high <= low) return null;
        long slots = (high - low) / Granularity;
        return (void*)(low / Granularity * Granularity + Random.Shared.NextInt64(slots) * Granularity);
    }

    private static DatabaseFullException Taken(string reportAs, long at) => new(
        $"Cannot map {reportAs} past {at} bytes: another allocation in this process took the address range reserved " +
        "for it while it grew. Reopen the database to grow it further.");

    /// <summary>
    /// Releases the reserved pieces that start below <paramref name="limit"/> (a placeholder is released whole) and
    /// returns where the last of them ended: the caller reserves <c>[its view's end, that)</c> again.
    /// </summary>
    private long ReleaseFront(long limit, string reportAs)
    {
        long released = RoundUp(_mapped);
        while (_rest.Count > 0 && _rest[0].Start < limit)
        {
            var (start, end) = _rest[0];
            if (!VirtualFree(Base + start, 0, MEM_RELEASE)) throw MapFailure("VirtualFree(MEM_RELEASE)", reportAs);
            _rest.RemoveAt(0);
            released = end;
            if (_restIsPlaceholder) break; // one piece only
        }
        _restIsPlaceholder = false;
        return released;
    }

    /// <summary>
    /// Reserves <c>[offset, end)</c> as a ladder of plain reservations in front of the pieces still held (which
    /// start at <paramref name="end"/>). If something else took part of it, reserves as far as it is free and gives
    /// up the rest, including the pieces after it, so that what is held stays contiguous. Returns whether all of
    /// it was reserved.
    /// </summary>
    private bool ReserveFront(long offset, long end)
    {
        var pieces = new List<(long Start, long End)>();
        long at = offset, size = Granularity;
        bool complete = true;
        while (at < end)
        {
            long pieceEnd = Math.Min(end, at + size);
            if (!TryReserve(at, pieceEnd))
            {
                complete = false;
                MemoryBasicInformation info;
                if (VirtualQuery(Base + at, &info, (nuint)sizeof(MemoryBasicInformation)) != 0 && info.State == MEM_FREE)
                {
                    long free = Math.Min((long)info.RegionSize, pieceEnd - at) / Granularity * Granularity;
                    if (free > 0 && TryReserve(at, at + free)) pieces.Add((at, at + free));
                }
                break;
            }
            pieces.Add((at, pieceEnd));
            at = pieceEnd;
            size *= 2;
        }
        if (!complete)
        {
            foreach (var (start, _) in _rest) VirtualFree(Base + start, 0, MEM_RELEASE);
            _rest.Clear();
        }
        _rest.InsertRange(0, pieces);
        return complete;
    }

    private bool TryReserve(long start, long end)
    {
        void* want = Base + start;
        void* got = VirtualAlloc(want, (nuint)(end - start), MEM_RESERVE, PAGE_NOACCESS);
        if (got == want) return true;
        if (got != null) VirtualFree(got, 0, MEM_RELEASE); // not where asked: not ours to keep
        return false;
    }

    /// <summary>
    /// Writes back the dirty pages of <c>[offset, offset + length)</c> (FlushViewOfFile, one call per view it
    /// touches) and waits for the writes; no device cache flush. Returns 0, or the Win32 error of the first failure.
    /// </summary>
    public int FlushViews(long offset, long length)
    {
        long mapped = Mapped;
        long end = Math.Min(offset + length, mapped);
        if (end <= offset) return 0;
        var starts = Volatile.Read(ref _viewStarts);
        for (int i = 0; i < starts.Length; i++)
        {
            long viewStart = starts[i];
            long viewEnd = i + 1 < starts.Length ? starts[i + 1] : mapped;
            long from = Math.Max(offset, viewStart), to = Math.Min(end, viewEnd);
            if (from >= to) continue;
            if (!FlushViewOfFile(Base + from, (nuint)(to - from))) return Marshal.GetLastPInvokeError();
        }
        return 0;
    }

    private static IOException MapFailure(string call, string reportAs) =>
        new($"{call} failed on {reportAs}: {Describe(Marshal.GetLastPInvokeError())}");

    private static long RoundUp(long bytes) => (bytes + Granularity - 1) / Granularity * Granularity;

    private static long QueryGranularity()
    {
        SystemInfo info;
        GetSystemInfo(&info);
        return info.AllocationGranularity == 0 ? 65536 : info.AllocationGranularity;
    }

    /// <summary>Unmaps every view and frees the rest of the range. Nothing may touch <see cref="Base"/> afterwards.</summary>
    public void Dispose()
    {
        if (Base == null) return;
        foreach (long start in _viewStarts) UnmapViewOfFile(Base + start);
        ReleaseRest();
        _viewStarts = [];
        Base = null;
    }
}
