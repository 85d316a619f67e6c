namespace MmapKv.Cli.Tests;

public sealed class BenchTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Bench_PrintsAThroughputTableAndTheCheck_AndDeletesItsFolder()
    {
        var r = Cli.Expect(0, "bench", "--count", "3000", "--commits", "20", "--dir", _dir.Path);
        Assert.StartsWith("mmapkv bench: 3,000 random 24-byte keys, 150-byte values, 20 durable commits\n", r.Out);
        foreach (string phase in new[] { "bulk load (1 txn)", "random reads", "full scan", "durable commits (1 put each)" })
            Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(phase)} +[\d,]+ +\d+\.\d{{3}} +[\d,]+$", r.Out);
        Assert.Matches(@"(?m)^check: OK: txn 21, .* 3020 entries$", r.Out);
        Assert.Equal("", r.Err);
        Assert.DoesNotContain('\u001b', r.Out); // no terminal, no ANSI escapes or progress bars
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Bench_BadArguments_Exit2Or3()
    {
        Assert.Contains("--count must be at least 1.", Cli.Expect(2, "bench", "--count", "0").Err);
        Assert.Contains("error: directory not found:", Cli.Expect(3, "bench", "--dir", _dir.File("nope")).Err);
    }

    [Fact]
    public void Bench_Cancelled_StopsAndStillDeletesItsFolder()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr, () => TextReader.Null, null, cancel.Token);
        Assert.Equal(ExitCodes.Interrupted, Program.Run(["bench", "--count", "100000", "--dir", _dir.Path], context));
        Assert.Equal("error: interrupted\n", stderr.ToString().ReplaceLineEndings("\n"));
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }
}
