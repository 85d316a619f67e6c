using MmapKv.Simulation;
using Xunit;

namespace MmapKv.Tests;

/// <summary>
/// V5 (docs/durability.md §10.1): with media corruption (bit flips, garbage sectors) opening or reading fails with
/// <see cref="CorruptDatabaseException"/>, or the database shows exactly a committed snapshot and passes Check().
/// Never another exception, never a crash, and never wrong data while checksums are verified.
/// </summary>
public class MediaCorruptionTests(ITestOutputHelper output)
{
    private const long Capacity = 4 << 20;

    [Fact]
    public void BitFlipsAndGarbageSectors_AreDetectedOrHarmless()
    {
        // A database with several commits, named trees, overflow values and free pages.
        var ops = new List<CrashOp>();
        for (int t = 0; t < 6; t++)
        {
            ops.Add(new PutManyOp(t % 3, t * 37, 60, 40 + t));
            ops.Add(new PutOp(0, 300 + t, 4000 + t, t));
            ops.Add(new DeleteManyOp(0, t * 11, 15));
            ops.Add(new CommitOp(Durability.Immediate));
        }
        var built = CrashRunner.Run(new CrashCase(4096, ops.ToArray(), 0, CrashKind.ProcessKill, 0, 5), Capacity);
        var snapshots = built.Snapshots;
        var pristine = built.Storage.AfterCrash(CrashKind.PowerLoss, 1);
        built.Storage.Release();

        int seed = Environment.TickCount;
        var rng = new Random(seed);
        int detected = 0, harmless = 0;
        const int rounds = 300;
        for (int round = 0; round < rounds; round++)
        {
            var sim = pristine.Clone(round);
            int flips = rng.Next(1, 4);
            string damage = "";
            for (int f = 0; f < flips; f++)
            {
                long offset = rng.NextInt64(0, sim.Length);
                if (rng.Next(3) == 0)
                {
                    var garbage = new byte[SimulatedStorage.SectorSize];
                    rng.NextBytes(garbage);
                    long sector = offset / SimulatedStorage.SectorSize * SimulatedStorage.SectorSize;
                    sim.CorruptMedia(sector, garbage);
                    damage += $" garbage@{sector}";
                }
                else
                {
                    byte b;
                    unsafe { b = (byte)(sim.Base[offset] ^ (1 << rng.Next(8))); }
                    sim.CorruptMedia(offset, new[] { b });
                    damage += $" flip@{offset}";
                }
            }
            try
            {
                using var db = KvDatabase.Open("sim", sim, CrashRunner.Options(4096, Capacity));
                StateModel state;
                using (var tx = db.BeginRead()) state = StateModel.Read(tx);
                var report = db.Check();
                if (!report.IsValid) { detected++; continue; }
                Assert.True(snapshots.Any(s => s.SameAs(state)),
                    $"seed {seed} round {round}:{damage}: Check() passed but the data is not a committed snapshot");
                harmless++;
            }
            catch (CorruptDatabaseException)
            {
                detected++;
            }
            finally
            {
                sim.Release();
            }
        }
        pristine.Release();
        output.WriteLine($"seed {seed}: {rounds} corrupted images, {detected} detected, {harmless} harmless (damage in free space or an old meta slot)");
        Assert.Equal(rounds, detected + harmless);
        Assert.True(detected > 0);
    }
}
