namespace MmapKv.Format;

/// <summary>
/// Chooses the meta slot to open (docs/format.md §6.2): of the slots that validate, the one with the highest
/// transaction id. A torn or damaged slot is skipped, so the previous commit is used.
/// </summary>
internal static unsafe class MetaSelector
{
    /// <summary>Selects from the first <paramref name="length"/> bytes of the file, mapped at <paramref name="file"/>.</summary>
    public static (MetaRecord Meta, int Slot) Select(byte* file, long length)
    {
        if (length < MetaPage.Size)
            Corrupt.Throw($"The file is {length} bytes, too small to be an MmapKv database.");
        var slot0 = MetaPage.TryRead(file, length, out string? problem0, out bool version0);
        // Slot 1 sits one page in. Its page size comes from slot 0; if slot 0 is damaged, try every legal size and
        // accept only a slot that names that same size.
        MetaRecord? slot1 = null;
        string? problem1 = "not found";
        bool version1 = false;
        for (int ps = Limits.MinPageSize; ps <= Limits.MaxPageSize; ps <<= 1)
        {
            if (slot0 is { } s0 && s0.PageSize != ps) continue;
            if (length < (long)ps + MetaPage.Size) break;
            var candidate = MetaPage.TryRead(file + ps, length, out string? p, out bool v);
            if (candidate is { } c && c.PageSize == ps) { slot1 = c; problem1 = null; break; }
            version1 |= v;
            if (slot0 is not null || problem1 == "not found") problem1 = p;
        }
        // A slot with a valid checksum but another version means a different build wrote this file: writing to it
        // with this one could destroy data that build expects, so refuse even if the other slot is readable.
        if (version0 || version1)
            throw new IncompatibleFormatException($"Cannot open: {(version0 ? problem0 : problem1)}.");
        if (slot0 is null && slot1 is null)
        {
            Corrupt.Throw($"Not an MmapKv database, or both meta pages are damaged (slot 0: {problem0}; slot 1: {problem1}).");
        }
        if (slot1 is null || (slot0 is { } a && a.TxnId >= slot1.Value.TxnId)) return (slot0!.Value, 0);
        return (slot1.Value, 1);
    }
}
