using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// Runs the hot-path benchmarks. With no arguments, all of them; any BenchmarkDotNet arguments pass through, e.g.
//   benchmarks/hotpaths.sh --filter '*ReadPaths*' --job short
string[] arguments = args.Length == 0 ? ["--filter", "*"] : args;
// The generated project is built under load on a shared two-core machine: allow more than the default two minutes.
var config = DefaultConfig.Instance.WithArtifactsPath(ArtifactsPath()).WithBuildTimeout(TimeSpan.FromMinutes(10));
BenchmarkSwitcher.FromAssembly(typeof(MmapKv.HotPaths.ReadPaths).Assembly).Run(arguments, config);
return;

// benchmarks/BenchmarkDotNet.Artifacts (git-ignored), wherever the command is started from inside the repository.
static string ArtifactsPath()
{
    for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "MmapKv.sln"))) return Path.Combine(d.FullName, "benchmarks", "BenchmarkDotNet.Artifacts");
    return Path.Combine(Directory.GetCurrentDirectory(), "BenchmarkDotNet.Artifacts");
}
