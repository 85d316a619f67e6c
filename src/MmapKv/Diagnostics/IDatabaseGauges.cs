namespace MmapKv.Diagnostics;

/// <summary>
/// What the observable instruments of <see cref="DatabaseMetrics"/> read from the database when a collector asks.
/// Implementations read plain fields and the reader slots only: no lock, no tree walk, no allocation.
/// </summary>
internal interface IDatabaseGauges
{
    /// <summary>The file's length in bytes.</summary>
    long FileBytes { get; }

    /// <summary>Read transactions open (the database's own excluded), and how long the oldest has been open.</summary>
    int ActiveReaders(out TimeSpan oldestAge);
}
