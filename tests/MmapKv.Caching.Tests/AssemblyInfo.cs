// Tests run one at a time: some start child processes, and a fork briefly holds a copy of every descriptor of this
// process, flock included, so a test that closes a cache file and reopens it while another test forks could see
// DatabaseLockedException for a few milliseconds (as in tests/MmapKv.Cli.Tests/AssemblyInfo.cs).
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
