using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace MmapKv.Tests;

/// <summary>
/// Runs an FsCheck property with a printed, replayable seed. Set MMAPKV_PROP_SEED to replay a failure.
/// </summary>
internal static class PropertyRunner
{
    public static int Iterations(int defaultCount) =>
        int.TryParse(Environment.GetEnvironmentVariable("MMAPKV_PROP_ITERS"), out int n) && n > 0 ? n : defaultCount;

    /// <summary>MMAPKV_PROP_SEED if set, otherwise a fresh random seed. Callers print it.</summary>
    public static ulong Seed() =>
        ulong.TryParse(Environment.GetEnvironmentVariable("MMAPKV_PROP_SEED"), out ulong s) ? s : (ulong)Random.Shared.NextInt64();

    /// <summary>Runs <paramref name="iterations"/> cases (callers read their own environment variable for it).</summary>
    public static void Run<T>(string name, Arbitrary<T> arb, Action<T> property, int iterations)
    {
        ulong seed = Seed();
        Console.WriteLine($"[{name}] seed {seed}, {iterations} cases (replay with MMAPKV_PROP_SEED={seed})");
        var config = Config.QuickThrowOnFailure
            .WithMaxTest(iterations)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed), FSharpOption<int>.None)));
        try
        {
            Check.One(name, config, Prop.ForAll(arb, property));
        }
        catch (Exception e)
        {
            throw new Exception($"[{name}] failed; replay with MMAPKV_PROP_SEED={seed}{Environment.NewLine}{e.Message}", e);
        }
    }

    /// <summary>Shrinks a list by removing contiguous blocks, largest first, then single elements.</summary>
    public static IEnumerable<T[]> ShrinkList<T>(T[] items)
    {
        for (int size = items.Length / 2; size >= 1; size /= 2)
            for (int start = 0; start + size <= items.Length; start += size)
                yield return items[..start].Concat(items[(start + size)..]).ToArray();
    }
}
