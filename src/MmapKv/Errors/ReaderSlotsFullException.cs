namespace MmapKv;

/// <summary>
/// Every reader slot (<see cref="KvOptions.MaxReaders"/>) is held by an open read transaction. Usually read
/// transactions are not being disposed: the message names the oldest ones, and where they were started when
/// <see cref="KvOptions.TrackTransactions"/> is on.
/// </summary>
public sealed class ReaderSlotsFullException : MmapKvException
{
    /// <summary>Creates the exception.</summary>
    public ReaderSlotsFullException(int slots, string oldestReaders)
        : base($"All {slots} reader slots are in use; dispose read transactions when done, or raise KvOptions.MaxReaders.{oldestReaders}")
        => Slots = slots;

    /// <summary>The number of reader slots (<see cref="KvOptions.MaxReaders"/>).</summary>
    public int Slots { get; }
}
