using System.Buffers.Binary;
using static MmapKv.Cli.Tests.Contents;

namespace MmapKv.Cli.Tests;

/// <summary>copy: hot backups while a writer commits, and compaction.</summary>
public sealed class BackupTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static byte[] CommitKey(long i) => B($"commit-{i:D9}");

    /// <summary>
    /// The copy must equal the database as of one commit. The writer adds key commit-N in commit N (in increasing
    /// order, each value naming its commit), so a consistent copy holds exactly commit-1..commit-M for some M, plus
    /// the preloaded entries, untouched.
    /// </summary>
    private static long AssertIsASnapshot(string copy, SortedDictionary<byte[], byte[]> preload)
    {
        var check = Cli.Expect(0, "check", copy);
        Assert.StartsWith("OK:", check.Out);
        var map = Read(copy);
        long m = 0;
        foreach (var (k, v) in map)
        {
            if (preload.TryGetValue(k, out var pv))
            {
                Assert.True(pv.AsSpan().SequenceEqual(v), "a preloaded value changed");
                continue;
            }
            m++;
            Assert.Equal(CommitKey(m), k); // a gap would mean half of some later commit made it in
            Assert.Equal(m, BinaryPrimitives.ReadInt64LittleEndian(v));
        }
        Assert.Equal(preload.Count + m, map.Count);
        return m;
    }

    [Fact]
    public async Task HotCopy_WhileAWriterCommits_IsASnapshot()
    {
        string path = _dir.File("live.mkv");
        // Enough data that a copy takes a while, so commits land during it.
        var preload = NewMap();
        var rng = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            var v = new byte[200];
            rng.NextBytes(v);
            preload[B($"pre-{i:D6}")] = v;
        }
        Write(path, preload);

        using var db = KvDatabase.Open(path);
        using var stop = new CancellationTokenSource();
        long committed = 0;
        var writer = Task.Run(() =>
        {
            var value = new byte[8];
            for (long i = 1; !stop.IsCancellationRequested; i++)
            {
                using var tx = db.BeginWrite();
                tx.Put(CommitKey(i), BitConverter.GetBytes(i));
                // Delete-and-rewrite a preloaded entry too, so pages the copy reads are freed and reused meanwhile.
                byte[] pk = B($"pre-{i % 20_000:D6}");
                tx.Put(pk, preload[pk]);
                tx.Commit(i % 10 == 0 ? Durability.Immediate : Durability.Deferred);
                Volatile.Write(ref committed, i);
            }
        });
        try
        {
            SpinWait.SpinUntil(() => Volatile.Read(ref committed) >= 20, TimeSpan.FromSeconds(10));
            var results = new List<(string Name, long Before, long After, long InCopy)>();
            var context = new CliContext(new StringWriter(), new StringWriter(), () => TextReader.Null, null, CancellationToken.None);
            foreach (var (name, compact, viaCli) in new[] { ("cli-copy", false, true), ("cli-compact", true, true), ("lib-copy", false, false), ("lib-compact", true, false) })
            {
                string dest = _dir.File(name + ".mkv");
                long before = Volatile.Read(ref committed);
                if (viaCli) Commands.CopyCommand.Copy(context, db, dest, compact); // the copy command's body, on the open database
                else db.CopyTo(dest, compact);
                long after = Volatile.Read(ref committed);
                results.Add((name, before, after, AssertIsASnapshot(dest, preload)));
            }
            stop.Cancel();
            await writer;
            foreach (var r in results)
            {
                output.WriteLine($"{r.Name}: writer at commit {r.Before} before, {r.After} after; copy holds commits 1..{r.InCopy}");
                // After is read once the copy returned; the writer publishes a commit just before it bumps the
                // counter, so the copy may hold one commit past After.
                Assert.InRange(r.InCopy, r.Before, r.After + 1);
            }
            Assert.True(results.Any(r => r.After > r.Before), "the writer never committed during a copy; the test proves nothing");
        }
        finally
        {
            stop.Cancel();
            await writer.ContinueWith(_ => { }, TaskScheduler.Default); // a writer failure was already reported above
        }
        // The live database is intact too.
        db.Dispose();
        Assert.Equal(0, Cli.Run("check", path).ExitCode);
    }

    [Fact]
    public void CopyCommand_CopiesAClosedDatabase()
    {
        string path = _dir.File("src.mkv"), dest = _dir.File("dest.mkv");
        var entries = DumpLoadTests.BinaryEntries(5, 300);
        Write(path, entries);
        Write(path, [KeyValuePair.Create(B("k"), B("v"))], tree: "t");
        var r = Cli.Expect(0, "copy", path, dest);
        Assert.StartsWith($"copied txn 2 to {dest}:", r.Out);
        Assert.Equal("", r.Err);
        Equal(entries, Read(dest));
        Assert.Equal(["t"], TreeNames(dest));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*copying*"));
    }

    [Fact]
    public void CompactCopy_AfterDeletingHalf_IsNoLargerThanTheLiveFile()
    {
        const int n = 40_000;
        string path = _dir.File("live.mkv");
        var all = NewMap();
        for (int i = 0; i < n; i++) all[B($"key-{i:D8}")] = new byte[120];
        Write(path, all);
        var kept = NewMap();
        using (var db = KvDatabase.Open(path))
        using (var tx = db.BeginWrite())
        {
            foreach (var (k, v) in all)
            {
                if (k[^1] % 2 == 0) tx.Delete(k);
                else kept[k] = v;
            }
            tx.Commit();
        }
        string plain = _dir.File("plain.mkv"), compact = _dir.File("compact.mkv");
        Cli.Expect(0, "copy", path, plain);
        var r = Cli.Expect(0, "copy", path, compact, "--compact");
        Assert.Contains("(compacted)", r.Out);

        long live = new FileInfo(path).Length, plainSize = new FileInfo(plain).Length, compactSize = new FileInfo(compact).Length;
        output.WriteLine($"{n} keys with 120-byte values, every other one deleted ({kept.Count} left):");
        output.WriteLine($"  live file    {live,12:N0} bytes");
        output.WriteLine($"  plain copy   {plainSize,12:N0} bytes");
        output.WriteLine($"  compact copy {compactSize,12:N0} bytes  ({100.0 * compactSize / live:0.0}% of the live file)");
        output.WriteLine(Cli.Expect(0, "stat", path).Out);
        output.WriteLine(Cli.Expect(0, "stat", compact).Out);
        Assert.True(compactSize <= live, $"compact copy {compactSize} > live {live}");
        Equal(kept, Read(compact));
        Equal(kept, Read(plain));
        Assert.Equal(0, Cli.Run("check", compact).ExitCode);
        Assert.Matches(@"(?m)^  free +0$", Cli.Expect(0, "stat", compact).Out);
    }
}
