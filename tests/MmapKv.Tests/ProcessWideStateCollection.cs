using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Tests that change process-wide state, or measure what another test's process-wide state would disturb, run
/// alone, after the parallel collections, one at a time:
/// <list type="bullet">
/// <item>a listener on the engine's meter "MmapKv" receives the measurements of every other test's databases, on
/// those tests' threads, so a collector that stores them allocates there (DatabaseMetricsTests);</item>
/// <item>the Windows backend's placeholder switch and test hook change how every database opened meanwhile maps its
/// file (WindowsStorageTests);</item>
/// <item>a test that counts the bytes its thread allocates measures the engine only when nothing of the above runs
/// beside it (WritePathAllocationTests).</item>
/// </list>
/// </summary>
[CollectionDefinition(nameof(ProcessWideStateCollection), DisableParallelization = true)]
public sealed class ProcessWideStateCollection;
