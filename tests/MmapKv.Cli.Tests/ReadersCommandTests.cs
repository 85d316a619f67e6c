namespace MmapKv.Cli.Tests;

/// <summary>
/// <c>mmapkv readers FILE</c> lists the open readers of every process that has the database open; the read
/// commands run beside an application that commits all the while.
/// </summary>
public sealed class ReadersCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Readers_ListsEachOpenReader_WithItsProcessAndSnapshot()
    {
        string path = _dir.File();
        Cli.Expect(0, "put", "--create", path, "k", "v");
        Assert.Equal("", Cli.Expect(0, "readers", path).Out);
        using var app = KvDatabase.Open(path);
        using var first = app.BeginRead();
        using (var tx = app.BeginWrite())
        {
            tx.Put("k"u8, "v2"u8);
            tx.Commit();
        }
        using var second = app.BeginRead();
        var lines = Cli.Expect(0, "readers", path).Out.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        // Oldest first: the reader of the first snapshot, then the newer one.
        var oldest = lines[0].Split('\t');
        var newest = lines[1].Split('\t');
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), oldest[0]);
        Assert.Equal(first.TxnId.ToString(System.Globalization.CultureInfo.InvariantCulture), oldest[1]);
        Assert.Equal(second.TxnId.ToString(System.Globalization.CultureInfo.InvariantCulture), newest[1]);
        Assert.True(double.Parse(oldest[2], System.Globalization.CultureInfo.InvariantCulture) >= 0);
    }

    [Fact]
    public async Task StatScanCheck_RunWhileAnApplicationCommitsContinuously()
    {
        string path = _dir.File();
        Cli.Expect(0, "put", "--create", path, "k", "v");
        using var app = KvDatabase.Open(path, new KvOptions { Durability = Durability.Deferred });
        using var stop = new CancellationTokenSource();
        long commits = 0;
        var writer = Task.Run(() =>
        {
            var rng = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                using var tx = app.BeginWrite();
                for (int i = 0; i < 50; i++) tx.Put(System.Text.Encoding.UTF8.GetBytes($"app/{rng.Next(5000):D5}"), new byte[rng.Next(10, 300)]);
                tx.Commit();
                Interlocked.Increment(ref commits);
            }
        });
        try
        {
            // The tools run in-process and take milliseconds, so the rounds are counted against the commits: the
            // first starts once the writer is committing, and they go on until at least 50 commits ran beside them
            // (bounded, so a writer that stalls fails the assertion below instead of hanging the test).
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (Interlocked.Read(ref commits) == 0 && !writer.IsCompleted && DateTime.UtcNow < deadline) Thread.Sleep(1);
            long first = Interlocked.Read(ref commits);
            for (int round = 0; round < 10 || (Interlocked.Read(ref commits) - first < 50 && DateTime.UtcNow < deadline && !writer.IsCompleted); round++)
            {
                Cli.Expect(0, "stat", path);
                Cli.Expect(0, "check", path);
                var scan = Cli.Expect(0, "scan", "--keys-only", path);
                Assert.Contains("k\n", scan.Out);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }
        Assert.True(Interlocked.Read(ref commits) >= 50, $"only {commits} commits ran beside the tool");
        Assert.True(app.Check().IsValid);
    }
}
