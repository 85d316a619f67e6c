using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// KvOptions.DebugSpans (docs/durability.md §12.5): every handed-out span is a guarded copy with the right contents
/// while its transaction lives, a reserved value filled through its copy is what is committed, and a use after
/// the end kills the process with an access violation (run in a child process), where without the option the
/// same program silently reads or writes the map.
/// </summary>
/// <remarks>The Child_* tests start tests/MmapKv.CrashChild through the dotnet host: not under Wine.</remarks>
public class DebugSpansTests(ITestOutputHelper output)
{
    private static readonly KvOptions On = new() { DebugSpans = true };

    private static byte[] Pattern(int length, int seed)
    {
        var v = new byte[length];
        new Random(seed).NextBytes(v);
        return v;
    }

    private static unsafe nint Address(ReadOnlySpan<byte> span) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));

    [Theory]
    [InlineData(1)]
    [InlineData(500)]
    [InlineData(1100)]    // an overflow run
    [InlineData(300_000)] // larger than an arena chunk
    public void TryGet_WithDebugSpans_ReturnsTheValueInEveryTransactionKind(int length)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), On);
        var value = Pattern(length, length);
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, value);
            tx.OpenTree("t").Put("k"u8, value);
            Assert.True(tx.TryGet("k"u8, out var inWrite));
            Assert.True(inWrite.SequenceEqual(value));
            Assert.True(tx.OpenTree("t").TryGet("k"u8, out var inWriteTree));
            Assert.True(inWriteTree.SequenceEqual(value));
            tx.Commit();
        }
        for (int round = 0; round < 3; round++) // the read state is reused: each use gets a fresh arena
        {
            using var tx = db.BeginRead();
            Assert.True(tx.TryGet("k"u8, out var v));
            Assert.True(v.SequenceEqual(value));
            Assert.True(tx.OpenTree("t").TryGet("k"u8, out var inTree));
            Assert.True(inTree.SequenceEqual(value));
            Assert.True(tx.TryGetInTree("t", "k"u8, out var inTreeDirect));
            Assert.True(inTreeDirect.SequenceEqual(value));
            Assert.Equal(value, tx.Get("k"u8));
            var destination = new byte[length];
            Assert.True(tx.TryGet("k"u8, destination, out int written));
            Assert.Equal(length, written);
            Assert.Equal(value, destination);
            var writer = new ArrayBufferWriter<byte>();
            Assert.True(tx.TryGet("k"u8, writer));
            Assert.Equal(value, writer.WrittenSpan.ToArray());
            Assert.False(tx.TryGet("missing"u8, out var none));
            Assert.True(none.IsEmpty);
            // The first value is still right after the later copies (they do not overwrite each other).
            Assert.True(v.SequenceEqual(value));
        }
    }

    /// <summary>A span taken in a write transaction stays readable during the write it is passed to (its lifetime
    /// ends after that write, not before): copying a value to another key works as without the option.</summary>
    [Fact]
    public void Put_OfASpanFromTheSameWriteTransaction_WritesItsBytes()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), On);
        var value = Pattern(3000, 3);
        using (var tx = db.BeginWrite())
        {
            tx.Put("a"u8, value);
            Assert.True(tx.TryGet("a"u8, out var a));
            tx.Put("b"u8, a);
            var cursor = tx.OpenCursor();
            Assert.True(cursor.Seek("b"u8));
            tx.OpenTree("t").Put("c"u8, cursor.Value);
            tx.Commit();
        }
        using var read = db.BeginRead();
        Assert.Equal(value, read.Get("b"u8));
        Assert.Equal(value, read.OpenTree("t").Get("c"u8));
    }

    /// <summary>The guard is really on: two lookups of one key give two copies; without it, the same map address.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TryGet_WithDebugSpans_HandsOutCopiesNotTheMap(bool debugSpans)
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), new KvOptions { DebugSpans = debugSpans });
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "value"u8);
            tx.Commit();
        }
        using var read = db.BeginRead();
        read.TryGet("k"u8, out var a);
        read.TryGet("k"u8, out var b);
        Assert.Equal(!debugSpans, Address(a) == Address(b));
        Assert.True(a.SequenceEqual("value"u8) && b.SequenceEqual("value"u8));
    }

    [Fact]
    public void CursorAndScans_WithDebugSpans_GiveTheEntries()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), On);
        var expected = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        using (var tx = db.BeginWrite())
        {
            for (int i = 0; i < 300; i++)
            {
                string key = $"key{i:D4}";
                var value = Pattern(i % 7 == 0 ? 2000 : 20 + i, i);
                expected[key] = value;
                tx.Put(Bytes.Of(key), value);
            }
            tx.Commit();
        }
        using var read = db.BeginRead();
        var cursor = read.OpenCursor();
        var keys = new List<string>();
        for (bool ok = cursor.First(); ok; ok = cursor.Next())
        {
            var key = cursor.Key;
            var value = cursor.Value;
            Assert.True(value.SequenceEqual(expected[Bytes.Str(key)]));
            keys.Add(Bytes.Str(key));
        }
        Assert.Equal(expected.Keys, keys);

        int n = 0;
        foreach (var (key, value) in read.Scan())
        {
            Assert.Equal(expected.Keys.ElementAt(n++), Bytes.Str(key));
            Assert.True(value.SequenceEqual(expected[Bytes.Str(key)]));
        }
        Assert.Equal(expected.Count, n);
        var reversed = new List<string>();
        foreach (var e in read.ScanPrefix("key01"u8).Reverse()) reversed.Add(Bytes.Str(e.Key));
        Assert.Equal(expected.Keys.Where(k => k.StartsWith("key01", StringComparison.Ordinal)).Reverse(), reversed);
        var copied = read.Scan("key0100"u8, "key0110"u8).AsEnumerable().ToList();
        Assert.Equal(10, copied.Count);
        Assert.All(copied, kv => Assert.Equal(expected[Bytes.Str(kv.Key)], kv.Value));
    }

    /// <summary>A reserved value is filled through its guarded copy: a read in between sees the bytes so far, the span
    /// stays writable across reads, and what is committed (checksums included) is the final fill.</summary>
    [Theory]
    [InlineData(8)]
    [InlineData(1100)]
    [InlineData(300_000)]
    public void Reserve_WithDebugSpans_CommitsWhatWasWritten(int length)
    {
        using var dir = new TempDir();
        var first = Pattern(length, 1);
        var final = Pattern(length, 2);
        using (var db = KvDatabase.Open(dir.File(), On))
        {
            using (var tx = db.BeginWrite())
            {
                var span = tx.Reserve("r"u8, length);
                Assert.Equal(length, span.Length);
                first.CopyTo(span);
                Assert.True(tx.TryGet("r"u8, out var seen));
                Assert.True(seen.SequenceEqual(first));
                final.CopyTo(span); // reads leave the reserved span valid
                var tree = tx.OpenTree("t");
                var inTree = tree.Reserve("r"u8, length);
                final.CopyTo(inTree);
                tx.Put("after"u8, "x"u8); // the next write takes both fills
                Assert.True(tx.TryGet("r"u8, out var afterWrite));
                Assert.True(afterWrite.SequenceEqual(final));
                var last = tx.Reserve("last"u8, length);
                first.CopyTo(last); // filled just before the commit
                tx.Commit();
            }
            using (var tx = db.BeginWrite())
            {
                tx.Reserve("aborted"u8, length).Fill(7);
            } // aborted: nothing of it is kept
        }
        using (var db = KvDatabase.Open(dir.File(), new KvOptions { VerifyChecksums = true }))
        {
            using var tx = db.BeginRead();
            Assert.True(tx.TryGet("r"u8, out var r));
            Assert.True(r.SequenceEqual(final));
            Assert.True(tx.OpenTree("t").TryGet("r"u8, out var t));
            Assert.True(t.SequenceEqual(final));
            Assert.True(tx.TryGet("last"u8, out var l));
            Assert.True(l.SequenceEqual(first));
            Assert.False(tx.TryGet("aborted"u8, out _));
            var report = db.Check();
            Assert.True(report.IsValid, report.ToString());
        }
    }

    [Fact]
    public void TypedTree_WithDebugSpans_ReadsAndWrites()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), On);
        using (var tx = db.BeginWrite())
        {
            var visits = tx.OpenTree<string, long>("visits");
            for (int i = 0; i < 5; i++) visits["home"] = visits.GetValueOrDefault("home") + 1;
            tx.Commit();
        }
        using var read = db.BeginRead();
        Assert.Equal(5, read.OpenTree<string, long>("visits")["home"]);
    }

    /// <summary>Random puts, reserves, deletes and reads against a model, with DebugSpans on: the guard changes no
    /// result (a reserved value's fill reaches its page however reads and writes interleave). Prints its seed.</summary>
    [Fact]
    public void RandomOperations_WithDebugSpans_MatchTheModel()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), On);
        var model = new SortedDictionary<byte[], byte[]>(ByteComparer.Instance);
        for (int txn = 0; txn < 40; txn++)
        {
            using var tx = db.BeginWrite();
            for (int op = 0; op < 50; op++)
            {
                var key = Bytes.Of($"k{rng.Next(200):D3}");
                var value = Pattern(rng.Next(4) == 0 ? rng.Next(1000, 6000) : rng.Next(0, 100), rng.Next());
                switch (rng.Next(5))
                {
                    case 0:
                        tx.Put(key, value);
                        model[key] = value;
                        break;
                    case 1:
                        var span = tx.Reserve(key, value.Length);
                        value.AsSpan(0, value.Length / 2).CopyTo(span);
                        if (tx.TryGet(key, out var half)) Assert.True(half[..(value.Length / 2)].SequenceEqual(value.AsSpan(0, value.Length / 2)));
                        value.CopyTo(span); // finished after a read
                        model[key] = value;
                        break;
                    case 2:
                        Assert.Equal(model.Remove(key), tx.Delete(key));
                        break;
                    default:
                        Assert.Equal(model.TryGetValue(key, out var expected), tx.TryGet(key, out var got));
                        if (expected is not null) Assert.True(got.SequenceEqual(expected));
                        break;
                }
            }
            tx.Commit();
            using var read = db.BeginRead();
            int n = 0;
            foreach (var (key, value) in read.Scan())
            {
                var expected = model.ElementAt(n++);
                Assert.True(key.SequenceEqual(expected.Key));
                Assert.True(value.SequenceEqual(expected.Value), $"value of {Bytes.Str(key)} (seed {seed})");
            }
            Assert.Equal(model.Count, n);
        }
        var report = db.Check();
        Assert.True(report.IsValid, report.ToString());
    }

    /// <summary>More transactions than the quarantine keeps: the oldest retired ranges are released, memory stays bounded.</summary>
    [Fact]
    public void ManyTransactions_WithDebugSpans_ReleaseTheOldestArenas()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File(), On);
        using (var tx = db.BeginWrite())
        {
            tx.Put("k"u8, "value"u8);
            tx.Commit();
        }
        for (int i = 0; i < Storage.GuardedMemory.MaxRetiredRanges + 500; i++)
        {
            using var tx = db.BeginRead();
            Assert.True(tx.TryGet("k"u8, out var v));
            Assert.True(v.SequenceEqual("value"u8));
        }
    }

    /// <summary>
    /// Bug caught: a span kept past its transaction reads (or writes) the map silently. With DebugSpans the child
    /// dies with an access violation at the misuse; without it the same program runs on (prints SURVIVED).
    /// </summary>
    [Theory]
    [InlineData("read-after-dispose")]
    [InlineData("cursor-after-dispose")]
    [InlineData("scan-after-dispose")]
    [InlineData("after-write")]
    [InlineData("reserve-after-commit")]
    public void Child_SpanUsedAfterItsEnd_FaultsOnlyWithDebugSpans(string misuse)
    {
        var (offCode, offOut, offErr) = RunChild("off", misuse);
        Assert.True(offCode == 0, $"without DebugSpans the child failed ({offCode}): {offErr}");
        Assert.Contains("SURVIVED", offOut);

        var (onCode, onOut, onErr) = RunChild("on", misuse);
        output.WriteLine($"exit {onCode}; stdout: {onOut.Trim()}; stderr: {onErr.Trim()}");
        Assert.Contains("TOOK", onOut);            // it got as far as the misuse
        Assert.DoesNotContain("SURVIVED", onOut);  // and no further
        Assert.NotEqual(0, onCode);
        // .NET reports the fault as a fatal AccessViolationException (then aborts: SIGABRT, 134); a fault it does
        // not attribute to managed code kills with SIGSEGV (139).
        Assert.True(onErr.Contains("AccessViolationException", StringComparison.Ordinal) || onCode == 139,
            $"expected an access violation, got exit {onCode}: {onErr}");
    }

    private static (int Code, string Stdout, string Stderr) RunChild(string debugSpans, string misuse)
    {
        using var dir = new TempDir();
        var psi = ChildLauncher.For(ProcessKillTests.ChildDll, "--debug-spans", dir.File(), debugSpans, misuse);
        // No core dump for the expected crash, and no crash report.
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(120_000), "the child did not exit");
        return (child.ExitCode, stdout, stderr.Result);
    }
}
