using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// Tests that attach a listener to the engine's meter "MmapKv". The meter is process-wide, so such a listener also
/// receives the measurements of every other test's databases, on those tests' threads: a collector that stores
/// each measurement allocates there, and a test that counts the bytes its thread allocates (the write-path and
/// read-path allocation tests) then measures the listener, not the engine. So these run alone, after the parallel
/// collections.
/// </summary>
[CollectionDefinition(nameof(MeterListenerCollection), DisableParallelization = true)]
public sealed class MeterListenerCollection;
