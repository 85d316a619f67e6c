using MmapKv.Storage;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// The storage's prefault thread (W8, docs/durability.md §5.1): it serves what is asked, a chunk at a time, and once
/// <see cref="PrefaultWorker.End"/> or <see cref="PrefaultWorker.Dispose"/> returns it touches nothing more.
/// </summary>
public class PrefaultWorkerTests
{
    private const long Chunk = PrefaultWorker.ChunkBytes;

    /// <summary>A populate call that records its range and, while <see cref="Gate"/> is reset, blocks inside the call (30 s at most).</summary>
    private sealed class Recorder
    {
        public readonly List<(long Offset, long Length)> Calls = [];
        public readonly ManualResetEventSlim Gate = new(true);
        public readonly SemaphoreSlim Entered = new(0);
        public volatile bool Inside;

        public void Populate(long offset, long length)
        {
            lock (Calls) Calls.Add((offset, length));
            Inside = true;
            Entered.Release();
            Gate.Wait(TimeSpan.FromSeconds(30)); // bounded: a test that fails before it opens the gate must not hang
            Inside = false;
        }

        public (long Offset, long Length)[] Snapshot() { lock (Calls) return [.. Calls]; }
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            Thread.Sleep(1);
        }
    }

    /// <summary>A worker asked for <c>[0, length)</c>, its first chunk's call held inside the recorder.</summary>
    private static PrefaultWorker HeldInTheFirstChunk(Recorder recorder, long length)
    {
        var worker = new PrefaultWorker(recorder.Populate);
        recorder.Gate.Reset();
        worker.Request(0, length);
        Assert.True(recorder.Entered.Wait(TimeSpan.FromSeconds(30)), "the first chunk was never faulted in");
        return worker;
    }

    /// <summary><paramref name="stop"/> (End or Dispose), run beside the held call, returns only once that call has.</summary>
    private static void AssertWaitsForTheCallInProgress(Recorder recorder, Action stop, string what)
    {
        var stopped = Task.Factory.StartNew(stop, TaskCreationOptions.LongRunning);
        Thread.Sleep(100);
        Assert.False(stopped.IsCompleted, what + " returned while a chunk was being faulted in");
        recorder.Gate.Set();
        Assert.True(stopped.Wait(TimeSpan.FromSeconds(30)));
        Assert.False(recorder.Inside);
    }

    [Fact]
    public void Requests_AreServedInChunks_AndOneThatOverlapsOrContinuesThePendingRangeExtendsIt()
    {
        var recorder = new Recorder();
        using var worker = HeldInTheFirstChunk(recorder, 3 * Chunk);
        worker.Request(Chunk, Chunk / 2);         // inside the pending range: changes nothing
        worker.Request(3 * Chunk, Chunk / 2);     // continues the pending range
        worker.Request(2 * Chunk, 2 * Chunk);     // overlaps it
        recorder.Gate.Set();
        WaitFor(() => recorder.Snapshot().Sum(c => c.Length) >= 4 * Chunk, "the whole range");
        Thread.Sleep(50);
        var calls = recorder.Snapshot();
        Assert.Equal([(0, Chunk), (Chunk, Chunk), (2 * Chunk, Chunk), (3 * Chunk, Chunk)], calls);
    }

    [Fact]
    public void ARequestElsewhere_ReplacesThePendingRange()
    {
        var recorder = new Recorder();
        using var worker = HeldInTheFirstChunk(recorder, 4 * Chunk);
        worker.Request(100 * Chunk, Chunk);
        recorder.Gate.Set();
        WaitFor(() => recorder.Snapshot().Length >= 2, "the new range");
        Thread.Sleep(50);
        Assert.Equal([(0, Chunk), (100 * Chunk, Chunk)], recorder.Snapshot());
    }

    [Fact]
    public void End_WaitsForTheChunkInProgress_AndDropsTheRest()
    {
        var recorder = new Recorder();
        using var worker = HeldInTheFirstChunk(recorder, 10 * Chunk);
        AssertWaitsForTheCallInProgress(recorder, worker.End, "End");

        Thread.Sleep(100);
        Assert.Equal([(0, Chunk)], recorder.Snapshot()); // the nine chunks left were dropped

        // A later request is served again.
        worker.Request(20 * Chunk, Chunk);
        WaitFor(() => recorder.Snapshot().Length == 2, "a request after End");
        Assert.Equal((20 * Chunk, Chunk), recorder.Snapshot()[1]);
    }

    [Fact]
    public void Dispose_WaitsForTheChunkInProgress_AndLaterRequestsAreIgnored()
    {
        var recorder = new Recorder();
        var worker = HeldInTheFirstChunk(recorder, 10 * Chunk);
        AssertWaitsForTheCallInProgress(recorder, worker.Dispose, "Dispose");

        worker.Request(0, Chunk);
        worker.End();
        worker.Dispose();
        Thread.Sleep(100);
        Assert.Equal([(0, Chunk)], recorder.Snapshot());
    }

    [Fact]
    public void AnIdleWorker_EndsItsThread_AndTheNextRequestStartsAnother()
    {
        var recorder = new Recorder();
        using var worker = new PrefaultWorker(recorder.Populate);
        worker.Request(0, Chunk);
        WaitFor(() => recorder.Snapshot().Length == 1, "the first request");
        Thread.Sleep(PrefaultWorker.IdleMilliseconds + 500); // the thread has ended by now
        worker.Request(Chunk, Chunk);
        WaitFor(() => recorder.Snapshot().Length == 2, "a request after the thread ended");
        Assert.Equal([(0, Chunk), (Chunk, Chunk)], recorder.Snapshot());
    }
}
