// MmapKv fuzzer. See fuzz/README.md.
//
//   dotnet MmapKv.Fuzz.dll --mode file|ops|crash|kill [--seed N] [--time SECONDS] [--jobs N]
//                          [--corpus DIR] [--artifacts DIR] [--timeout SECONDS] [--status SECONDS] [--max-cases N]
//   dotnet MmapKv.Fuzz.dll --mode file --seed N --case K [--corpus DIR]    regenerate and run one file case
//   dotnet MmapKv.Fuzz.dll --replay FILE [--case-seed S]                   run one file case in this process
//   dotnet MmapKv.Fuzz.dll --mode ops|crash --seed N --case K              replay one ops or crash case
//
// Exit code: 0 when no crash, hang, unexpected exception or invariant violation was seen; 1 otherwise; 2 on bad usage.
using MmapKv.Fuzz;

try
{
    var options = FuzzOptions.Parse(args);
    if (options.RunFileCasesChild) return FileCaseRunner.ChildMain();
    if (options.Replay is not null) return FileCaseRunner.ReplayMain(options);
    return options.Mode switch
    {
        "file" => new FileFuzzer(options).Run(),
        "ops" => new OpsFuzzer(options).Run(),
        "crash" => new CrashFuzzer(options).Run(),
        "kill" => new KillFuzzer(options).Run(),
        _ => throw new UsageException($"unknown mode '{options.Mode}' (file, ops, crash or kill)"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine("usage error: " + e.Message);
    Console.Error.WriteLine("usage: MmapKv.Fuzz --mode file|ops|crash|kill [--seed N] [--time SECONDS] [--jobs N] [--corpus DIR] [--artifacts DIR]");
    return 2;
}
