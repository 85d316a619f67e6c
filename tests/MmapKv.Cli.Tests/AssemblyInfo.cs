// Tests run one at a time. Some start processes (the LMDB tools, the tool itself), and a fork briefly holds a copy of
// every descriptor of this process, flock included: a test that closes a database and reopens it while another
// test forks can see DatabaseLockedException (exit code 5) for a few milliseconds. The suite is small enough that
// running it serially costs little.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
