using Xunit;

namespace MmapKv.Tests;

public class ReadPathAllocationTests
{
    /// <summary>TryGet and cursor moves (First, Seek, Next, Prev, Last, Key, Value) allocate nothing on the managed heap.</summary>
    [Fact]
    public void TryGetAndCursorMoves_AllocateNothing()
    {
        using var dir = new TempDir();
        using var db = KvDatabase.Open(dir.File());
        var keys = Enumerable.Range(0, 5000).Select(i => Bytes.Of($"key:{i * 7919 % 5000:D6}")).ToArray();
        using (var tx = db.BeginWrite())
        {
            foreach (var k in keys) tx.Put(k, new byte[k[^1] % 2 == 0 ? 50 : 5000]); // inline and overflow values
            tx.OpenTree("named").Put("x"u8, "y"u8);
            tx.Commit();
        }
        using var rtx = db.BeginRead();
        using var cursor = rtx.OpenCursor();
        var tree = rtx.OpenTree("named");
        long sum = 0;
        void Work()
        {
            foreach (var k in keys)
                if (rtx.TryGet(k, out var v)) sum += v.Length;
            if (tree.TryGet("x"u8, out var nv)) sum += nv.Length;
            for (bool ok = cursor.First(); ok; ok = cursor.Next()) sum += cursor.Key.Length + cursor.Value.Length;
            for (bool ok = cursor.Last(); ok; ok = cursor.Prev()) sum += cursor.Key[0];
            for (int i = 0; i < 500; i++)
                if (cursor.Seek(keys[i])) sum += cursor.Value.Length;
        }
        Work(); // warm up (JIT)
        Work();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sum > 0);
        Assert.Equal(0, allocated);
    }
}
