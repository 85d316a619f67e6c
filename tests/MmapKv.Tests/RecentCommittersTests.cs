using System.Diagnostics;
using MmapKv.Transactions;
using Xunit;

namespace MmapKv.Tests;

/// <summary>The committer count group commit's gathering waits for (CommitPipeline.Gather, docs/durability.md §3.5).</summary>
public class RecentCommittersTests
{
    [Fact]
    public void Note_CountsEachThreadOnce()
    {
        var c = new RecentCommitters();
        c.Note(100);
        c.Note(200);
        c.Note(300);
        Assert.Equal(1, c.CountSince(0));
        NoteFromThreads(c, 400, 400, 400);
        Assert.Equal(4, c.CountSince(0));
    }

    [Fact]
    public void CountSince_LeavesOutThreadsLastSeenBeforeTheWindow()
    {
        var c = new RecentCommitters();
        NoteFromThreads(c, 100, 500);
        c.Note(900);
        Assert.Equal(3, c.CountSince(100));
        Assert.Equal(2, c.CountSince(101));
        Assert.Equal(1, c.CountSince(600));
        Assert.Equal(0, c.CountSince(901));
        c.Note(1000); // seen again: counted from its newest wait
        Assert.Equal(1, c.CountSince(1000));
    }

    [Fact]
    public void MoreThreadsThanCapacity_CountAsCapacity_AndTheNewestReplaceTheOldest()
    {
        var c = new RecentCommitters();
        NoteFromThreads(c, Enumerable.Range(0, RecentCommitters.Capacity + 4).Select(i => 1000L + i).ToArray());
        Assert.Equal(RecentCommitters.Capacity, c.CountSince(0));
        // The four oldest were replaced: every thread still tracked was seen at or after 1004.
        Assert.Equal(RecentCommitters.Capacity, c.CountSince(1004));
    }

    [Fact]
    public void Window_IsFourFlushes_AndAtLeastAMillisecond()
    {
        long ms = Stopwatch.Frequency / 1000;
        Assert.Equal(ms, RecentCommitters.Window(0));
        Assert.Equal(ms, RecentCommitters.Window(ms / 8));
        Assert.Equal(8 * ms, RecentCommitters.Window(2 * ms));
    }

    /// <summary>
    /// One new thread per time, each noting once, in the order given (the gate the pipeline holds is a lock here).
    /// Every thread stays alive until all have noted, so no two share a managed thread id.
    /// </summary>
    private static void NoteFromThreads(RecentCommitters c, params long[] times)
    {
        using var allNoted = new Barrier(times.Length);
        var turn = 0;
        var gate = new object();
        var threads = times.Select((at, i) => new Thread(() =>
        {
            lock (gate)
            {
                while (turn != i) Monitor.Wait(gate);
                c.Note(at);
                turn++;
                Monitor.PulseAll(gate);
            }
            allNoted.SignalAndWait();
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
    }
}
