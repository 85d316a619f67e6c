namespace MmapKv.Format;

/// <summary>
/// Chooses the meta slot to open (docs/format.md §6.2): of the slots that validate and whose commit list verifies
/// (D1), the one with the highest transaction id. A torn or damaged slot, or one whose last commit did not fully
/// reach the disk, is skipped, so the previous commit is used.
/// </summary>
internal static unsafe class MetaSelector
{
    /// <summary>Selects from the first <paramref name="length"/> bytes of the file, mapped at <paramref name="file"/>.</summary>
    public static MetaSelection Select(byte* file, long length)
    {
        var (slot0, slot1, problem0, problem1) = ReadSlots(file, length, length);
        // Newest first; on a tie (which a correct writer produces only as the open's copy, D4), slot 0.
        bool oneFirst = slot1 is { } b && (slot0 is null || b.TxnId > slot0.Value.TxnId);
        int first = oneFirst ? 1 : 0;
        int pageSize = (slot0 ?? slot1)!.Value.PageSize;
        string? refused = null;
        foreach (int slot in new[] { first, 1 - first })
        {
            if ((slot == 0 ? slot0 : slot1) is not { } meta) continue;
            string? listProblem = CommitList.Verify(file, file + (long)slot * pageSize, meta);
            if (listProblem is not null)
            {
                refused ??= $"slot {slot}: {listProblem}";
                continue;
            }
            // The other slot matters if it holds an intact record newer than the chosen one that was refused: its
            // pages are free in the chosen state, and once they are rewritten it could pass later (D4).
            byte* other = file + (long)(1 - slot) * pageSize;
            bool refusedNewer = length >= (long)(1 - slot) * pageSize + MetaPage.Size
                && MetaPage.ChecksummedTxn(other) is { } t && t > meta.TxnId;
            return new MetaSelection(meta, slot, refusedNewer);
        }
        Corrupt.Throw($"Neither meta page describes a state that is whole on disk ({refused}; slot 0: {problem0 ?? "valid"}; slot 1: {problem1 ?? "valid"}).");
        return default;
    }

    /// <summary>
    /// The page size of the file, from whichever slot holds a valid record (§6.2 steps 1 to 4), without verifying any
    /// commit list. A process joining a database that others are writing uses it: the newest state then comes from the
    /// lock file, and a slot may be mid-write or name pages being rewritten (only one slot is written at a time, D3).
    /// Nor is a record's page count held against <paramref name="length"/>: the length was measured before, and
    /// another process may have grown the file and committed to both slots since.
    /// </summary>
    public static int PageSize(byte* file, long length)
    {
        var (slot0, slot1, _, _) = ReadSlots(file, length, long.MaxValue);
        return (slot0 ?? slot1)!.Value.PageSize;
    }

    /// <summary>
    /// Reads and validates both slots (§6.2 steps 1 to 4) of the <paramref name="length"/> bytes mapped, holding their
    /// records against a file of <paramref name="validateAgainst"/> bytes; throws when the file is not a database of
    /// this format.
    /// </summary>
    private static (MetaRecord? Slot0, MetaRecord? Slot1, string? Problem0, string? Problem1) ReadSlots(byte* file, long length, long validateAgainst)
    {
        if (length < MetaPage.Size)
            Corrupt.Throw($"The file is {length} bytes, too small to be an MmapKv database.");
        var slot0 = MetaPage.TryRead(file, validateAgainst, out string? problem0, out bool version0);
        // Slot 1 sits one page in. Its page size comes from slot 0; if slot 0 is damaged, try every legal size and
        // accept only a slot that names that same size.
        MetaRecord? slot1 = null;
        string? problem1 = "not found";
        bool version1 = false;
        for (int ps = Limits.MinPageSize; ps <= Limits.MaxPageSize; ps <<= 1)
        {
            if (slot0 is { } s0 && s0.PageSize != ps) continue;
            if (length < (long)ps + MetaPage.Size) break;
            var candidate = MetaPage.TryRead(file + ps, validateAgainst, out string? p, out bool v);
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
        return (slot0, slot1, problem0, problem1);
    }
}

/// <summary>The outcome of <see cref="MetaSelector.Select"/>.</summary>
/// <param name="Meta">The state to open.</param>
/// <param name="Slot">The slot that holds it.</param>
/// <param name="RefusedNewer">The other slot holds an intact record with a higher txn id that was refused (it
/// failed M1–M4 or its commit list did not verify); a read-write open must overwrite it before reusing pages (D4).</param>
internal readonly record struct MetaSelection(MetaRecord Meta, int Slot, bool RefusedNewer);
