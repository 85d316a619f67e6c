using System.Text;

namespace MmapKv.Fuzz;

/// <summary>What one file case did: the expected errors it met (by phase and type) and the first unexpected one.</summary>
internal sealed class CaseResult
{
    public List<string> Typed { get; } = new();
    public List<string> Notes { get; } = new();
    public string? Unexpected { get; set; }
    public string? UnexpectedSignature { get; set; }
}

/// <summary>
/// Runs one file-mode case: open the (possibly damaged) file read-only with checksum verification and read
/// everything; open it read-write, read everything, write (puts, overwrites, overflow values, deletes, named trees,
/// a tree deletion), commit, Check(), copy it; reopen and Check() again. Only CorruptDatabaseException (and, where
/// writing, DatabaseFullException and StorageFailedException) may escape; anything else is a library bug, and a
/// crash takes the child process down, which the parent sees.
/// </summary>
internal static class FileCaseRunner
{
    private const int MaxWalkSteps = 20_000;
    private const int MaxKeysKept = 2_000;

    /// <summary>What the case is doing now; a hung child reports it when asked (see <see cref="ChildMain"/>).</summary>
    private static volatile string s_phase = "idle";

    /// <summary>
    /// Runs one case. <paramref name="thorough"/> (the probes of crafted seeds) runs every optional step instead of a
    /// random selection: 1 deletes every named tree before the compacting copy, 2 copies first.
    /// </summary>
    public static CaseResult Run(string path, ulong caseSeed, int thorough = 0)
    {
        var res = new CaseResult();
        var rng = Seeds.Rng(caseSeed ^ 0x5DEECE66DUL);
        long length = new FileInfo(path).Length;
        var baseOptions = new KvOptions
        {
            DeferredFlushInterval = TimeSpan.Zero,
            MaxSize = Math.Max(64L << 20, length + (64L << 20)),
            MaxReaders = 8,
        };
        var keys = new List<byte[]>();
        var trees = new List<string>();
        bool validBefore = false;

        // Pass 1: read-only, every page verified on first touch.
        Guard(res, "ro-open", write: false, () =>
        {
            using var db = KvDatabase.Open(path, baseOptions with { ReadOnly = true, VerifyChecksums = true });
            ReadAll(db, rng, res, keys, trees, "ro");
            Guard(res, "ro-check", false, () => validBefore = db.Check().IsValid);
        });

        // Pass 2: read-write; reads, then a write transaction, then the check.
        Guard(res, "rw-open", write: true, () =>
        {
            using var db = KvDatabase.Open(path, baseOptions with { VerifyChecksums = rng.Next(2) == 0 });
            ReadAll(db, rng, res, keys, trees, "rw");
            bool committed = false;
            Guard(res, "write", true, () => committed = Write(db, rng, keys, trees));
            if (rng.Next(3) == 0) Guard(res, "write2", true, () => committed |= DeleteMany(db, rng, keys));
            if (rng.Next(2) == 0) Guard(res, "savepoints", true, () => committed |= Savepoints(db, rng));
            Guard(res, "rw-check", false, () =>
            {
                var report = db.Check();
                if (committed && validBefore && !report.IsValid)
                    res.Notes.Add("valid-before-invalid-after-commit: " + report.Problems.FirstOrDefault());
            });
            if (thorough != 0 || rng.Next(4) == 0) Guard(res, "copy", true, () => db.CopyTo(Stream.Null, compact: false));
            if (thorough == 1) Guard(res, "delete-all-trees", true, () => DeleteAllTrees(db, trees));
            if (thorough != 0 || rng.Next(8) == 0) Guard(res, "copy-compact", true, () =>
            {
                // A compacting copy cannot rebuild a tree of the application's own order, and says so.
                try { db.CopyTo(Stream.Null, compact: true); }
                catch (InvalidOperationException e) when (e.Message.Contains("custom key order", StringComparison.Ordinal)) { Note(res, "compact-refused-custom-order"); }
            });
            if (thorough == 2) Guard(res, "delete-all-trees", true, () => DeleteAllTrees(db, trees));
            Guard(res, "stats", false, () => db.GetStats());
        });

        // Pass 3: whatever the writer left must open (or be refused) cleanly too.
        Guard(res, "reopen", write: true, () =>
        {
            using var db = KvDatabase.Open(path, baseOptions);
            Guard(res, "reopen-check", false, () => db.Check());
            ReadAll(db, rng, res, new List<byte[]>(), new List<string>(), "reopen");
        });
        s_phase = "idle";
        return res;
    }

    /// <summary>Runs <paramref name="body"/>, classifying what escapes.</summary>
    private static void Guard(CaseResult res, string phase, bool write, Action body)
    {
        string outer = s_phase;
        s_phase = phase;
        try { body(); }
        catch (Exception e) when (e is CorruptDatabaseException || (write && e is DatabaseFullException or StorageFailedException))
        {
            res.Typed.Add($"{phase}/{e.GetType().Name}");
        }
        catch (Exception e)
        {
            if (res.Unexpected is null)
            {
                res.Unexpected = $"phase {phase}: {e}";
                res.UnexpectedSignature = $"{e.GetType().Name} in {phase} at {TopFrame(e)}";
            }
        }
        finally { s_phase = outer; }
    }

    /// <summary>The innermost MmapKv frame of the exception's stack, for grouping failures.</summary>
    private static string TopFrame(Exception e)
    {
        var trace = new System.Diagnostics.StackTrace(e, false);
        foreach (var frame in trace.GetFrames())
        {
            var m = frame.GetMethod();
            if (m?.DeclaringType?.Namespace?.StartsWith("MmapKv", StringComparison.Ordinal) == true
                && m.DeclaringType.Namespace != "MmapKv.Fuzz")
                return $"{m.DeclaringType.Name}.{m.Name}";
        }
        return trace.FrameCount > 0 ? trace.GetFrame(0)?.GetMethod()?.Name ?? "?" : "?";
    }

    private static void Note(CaseResult res, string note)
    {
        if (!res.Notes.Contains(note)) res.Notes.Add(note);
    }

    private static bool UsableKey(KvDatabase db, ReadOnlySpan<byte> key) => key.Length >= 1 && key.Length <= db.MaxKeySize;

    // ---------------------------------------------------------------- reads

    private static void ReadAll(KvDatabase db, Random rng, CaseResult res, List<byte[]> keys, List<string> trees, string pass)
    {
        Guard(res, pass + "-read", false, () =>
        {
            using var tx = db.BeginRead();
            Guard(res, pass + "-walk-main", false, () => ReadTree(db, tx.OpenCursor(), k => tx.TryGet(k, out _), rng, keys));
            IReadOnlyList<string> names = Array.Empty<string>();
            Guard(res, pass + "-tree-names", false, () => names = tx.GetTreeNames());
            foreach (string name in names.Take(40))
            {
                // A damaged catalog can list names that cannot be looked up: invalid UTF-8, empty or too long names,
                // or entries a lookup misses (a wrong hint or order). The reader cannot tell; that is not a bug.
                if (!ValidTreeName(db, name)) { Note(res, "listed-tree-name-invalid"); continue; }
                Guard(res, pass + "-walk-named", false, () =>
                {
                    // A damaged descriptor can make any tree a multimap or give it any key order; the fuzzer uses
                    // each tree as an application that knows its kind would (its flags are all a reader can go by).
                    if (tx.IsMultiTree(name))
                    {
                        ReadMultiTree(tx.OpenMultiTree(name));
                        return;
                    }
                    if (!tx.TryOpenTree(name, out var t)) { Note(res, "listed-tree-not-found"); return; }
                    _ = t.Count;
                    var order = t.KeyOrder;
                    if (order == KeyOrder.Custom) { Note(res, "custom-order-tree-not-walked"); return; } // its comparer is the application's
                    if (order == KeyOrder.Bytewise && !trees.Contains(name)) trees.Add(name); // the write phase puts random keys
                    Func<byte[], bool> fits = order is KeyOrder.Int64 or KeyOrder.UInt64 ? k => k.Length == 8 : _ => true;
                    ReadTree(db, t.OpenCursor(), k => fits(k) && t.TryGet(k, out _), rng, keys, fits);
                });
            }
            // Names that are not in the catalog.
            Guard(res, pass + "-try-open", false, () => tx.TryOpenTree("no-such-tree-" + rng.Next(), out _));
        });
    }

    /// <summary>Walks forward and backward (bounded), looks up keys seen, and seeks random and nearby keys.</summary>
    /// <summary>Walks a multimap tree's pairs (bounded) and counts each key's values.</summary>
    private static void ReadMultiTree(KvMultiTree m)
    {
        long sum = 0;
        int steps = 0;
        foreach (var (key, value) in m.Scan())
        {
            if (++steps > MaxWalkSteps) break;
            sum += Touch(key) + Touch(value);
            if (steps % 16 == 0) sum += m.Count(key.ToArray());
        }
        GC.KeepAlive(sum);
    }

    private static void ReadTree(KvDatabase db, KvCursor c, Func<byte[], bool> tryGet, Random rng, List<byte[]> keys, Func<byte[], bool>? fits = null)
    {
        using (c)
        {
            var seen = new List<byte[]>();
            long sum = 0;
            int steps = 0;
            for (bool ok = c.First(); ok && steps < MaxWalkSteps; ok = c.Next(), steps++)
            {
                var k = c.Key;
                sum += Touch(k) + Touch(c.Value);
                if (seen.Count < 500 && (seen.Count < 50 || rng.Next(8) == 0)) seen.Add(k.ToArray());
            }
            steps = 0;
            for (bool ok = c.Last(); ok && steps < MaxWalkSteps; ok = c.Prev(), steps++)
                sum += Touch(c.Key) + Touch(c.Value);
            foreach (var k in seen)
            {
                if (UsableKey(db, k)) tryGet(k);
                if (keys.Count < MaxKeysKept) keys.Add(k);
            }
            for (int i = 0; i < 16; i++)
            {
                byte[] probe = i < 8 && seen.Count > 0 ? Nearby(seen[rng.Next(seen.Count)], rng) : RandomKey(rng);
                if (!UsableKey(db, probe) || fits is not null && !fits(probe)) continue;
                if (tryGet(probe)) sum++;
                if (c.Seek(probe))
                {
                    sum += Touch(c.Key) + Touch(c.Value);
                    if (c.Next()) sum += Touch(c.Key);
                    if (c.Prev()) sum += Touch(c.Value);
                }
            }
            GC.KeepAlive(sum);
        }
    }

    /// <summary>Reads the bytes of a span (sampled for big values), so a span reaching outside the map faults here.</summary>
    private static long Touch(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty) return 0;
        long sum = s[0] + s[^1];
        for (int i = 0; i < s.Length; i += 4093) sum += s[i];
        return sum;
    }

    private static byte[] RandomKey(Random rng)
    {
        var k = new byte[rng.Next(1, 24)];
        rng.NextBytes(k);
        if (rng.Next(2) == 0) for (int i = 0; i < k.Length; i++) k[i] = (byte)('a' + k[i] % 26);
        return k;
    }

    private static byte[] Nearby(byte[] key, Random rng)
    {
        if (key.Length == 0) return RandomKey(rng);
        var k = (byte[])key.Clone();
        switch (rng.Next(4))
        {
            case 0: k[^1]++; break;
            case 1: k[^1]--; break;
            case 2: Array.Resize(ref k, k.Length + 1); break;
            default: if (k.Length > 1) Array.Resize(ref k, k.Length - 1); break;
        }
        return k;
    }

    // ---------------------------------------------------------------- writes

    /// <summary>One write transaction of random puts, overwrites and deletes over existing and new keys and trees.</summary>
    private static bool Write(KvDatabase db, Random rng, List<byte[]> keys, List<string> trees)
    {
        using var tx = db.BeginWrite();
        int ops = 1 + rng.Next(40);
        for (int i = 0; i < ops; i++)
        {
            byte[] Existing() => keys.Count > 0 ? keys[rng.Next(keys.Count)] : RandomKey(rng);
            byte[] Value() => new byte[rng.Next(6) switch { 0 => 0, 1 => rng.Next(900, 1100), 2 => rng.Next(4000, 20000), _ => rng.Next(1, 64) }];
            int op = rng.Next(12);
            s_phase = "write:" + op switch { < 3 => "put-new", < 5 => "overwrite", < 7 => "delete", 7 => "named-tree", 8 => "delete-tree", 9 => "new-tree", 10 => "cursor", _ => "bulk-put" };
            switch (op)
            {
                case 0 or 1 or 2:
                {
                    var k = RandomKey(rng);
                    tx.Put(k, Value());
                    break;
                }
                case 3 or 4:
                {
                    var k = Existing();
                    if (UsableKey(db, k)) tx.Put(k, Value());
                    break;
                }
                case 5 or 6:
                {
                    var k = Existing();
                    if (UsableKey(db, k)) tx.Delete(k);
                    break;
                }
                case 7 when trees.Count > 0:
                {
                    string name = trees[rng.Next(trees.Count)];
                    if (!ValidTreeName(db, name)) break;
                    var t = tx.OpenTree(name);
                    var k = rng.Next(2) == 0 ? Existing() : RandomKey(rng);
                    if (!UsableKey(db, k)) break;
                    if (rng.Next(3) == 0) t.Delete(k);
                    else t.Put(k, Value());
                    break;
                }
                case 8 when trees.Count > 0 && rng.Next(3) == 0:
                {
                    string name = trees[rng.Next(trees.Count)];
                    if (ValidTreeName(db, name)) tx.DeleteTree(name);
                    break;
                }
                case 9:
                {
                    var t = tx.OpenTree("fuzz-" + rng.Next(4));
                    t.Put(RandomKey(rng), Value());
                    break;
                }
                case 10:
                {
                    // A cursor in the write transaction, across a write.
                    using var c = tx.OpenCursor();
                    if (c.Seek(RandomKey(rng)))
                    {
                        tx.Put(RandomKey(rng), Value());
                        if (c.Next()) Touch(c.Key);
                        if (c.Prev()) Touch(c.Value);
                    }
                    break;
                }
                default:
                {
                    // Many small inserts in a row: splits.
                    for (int j = 0; j < 30; j++) tx.Put(RandomKey(rng), new byte[rng.Next(1, 200)]);
                    break;
                }
            }
        }
        s_phase = "write:commit";
        tx.Commit(rng.Next(2) == 0 ? Durability.Immediate : Durability.Deferred);
        return true;
    }

    /// <summary>Deletes every named tree the reads found, in one transaction.</summary>
    /// <summary>Lists the persistent savepoints, then makes one, or restores or deletes one of them (docs/format.md §13).</summary>
    private static bool Savepoints(KvDatabase db, Random rng)
    {
        var list = db.GetPersistentSavepoints();
        if (list.Count == 0 || rng.Next(4) == 0)
        {
            db.CreatePersistentSavepoint();
            return true;
        }
        var sp = list[rng.Next(list.Count)];
        if (rng.Next(2) == 0) db.RestoreSavepoint(sp.Id);
        else db.DeletePersistentSavepoint(sp.Id);
        return true;
    }

    private static void DeleteAllTrees(KvDatabase db, List<string> trees)
    {
        using var tx = db.BeginWrite();
        foreach (string name in trees)
            if (ValidTreeName(db, name)) tx.DeleteTree(name);
        tx.Commit();
    }

    /// <summary>Deletes most keys seen: merges and root collapses.</summary>
    private static bool DeleteMany(KvDatabase db, Random rng, List<byte[]> keys)
    {
        using var tx = db.BeginWrite();
        foreach (var k in keys)
            if (UsableKey(db, k) && rng.Next(5) != 0) tx.Delete(k);
        tx.Commit();
        return true;
    }

    /// <summary>Tree names the harness may pass back to the API (names read from a damaged catalog may not be).</summary>
    private static bool ValidTreeName(KvDatabase db, string name)
    {
        if (name.Length == 0) return false;
        int bytes = Encoding.UTF8.GetByteCount(name);
        return bytes <= db.MaxKeySize;
    }

    // ---------------------------------------------------------------- child process

    /// <summary>
    /// The child side of file mode: reads <c>C index caseSeed path</c> lines from stdin, runs each case, and answers
    /// <c>@@R index OK|UNEXPECTED payload</c> (payload base64). <c>P</c> asks what the current case is doing.
    /// </summary>
    public static int ChildMain()
    {
        var stdout = Console.Out;
        var gate = new object();
        void Send(string line)
        {
            lock (gate)
            {
                stdout.WriteLine(line);
                stdout.Flush();
            }
        }
        string? line;
        var input = Console.In;
        // A hang is reported by the parent; the phase is printed to stderr every few seconds so the parent can name it.
        using var watchdog = new Timer(_ => Console.Error.WriteLine($"@@PHASE {s_phase}"), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        while ((line = input.ReadLine()) is not null)
        {
            if (!line.StartsWith("C ", StringComparison.Ordinal)) continue;
            // C index caseSeed thorough path
            var parts = line.Split(' ', 5);
            string index = parts[1];
            ulong caseSeed = ulong.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            int thorough = int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
            string path = parts[4];
            CaseResult res;
            try { res = Run(path, caseSeed, thorough); }
            catch (Exception e)
            {
                res = new CaseResult { Unexpected = "harness: " + e, UnexpectedSignature = "harness " + e.GetType().Name };
            }
            if (res.Unexpected is not null)
                Send($"@@R {index} UNEXPECTED {B64(res.UnexpectedSignature!)} {B64(res.Unexpected)} {B64(string.Join(",", res.Typed))}");
            else
                Send($"@@R {index} OK {B64(string.Join(",", res.Typed))} {B64(string.Join("\n", res.Notes))}");
        }
        return 0;
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    /// <summary>Runs one file in this process and prints the outcome (a crash takes this process down, as it would a host).</summary>
    public static int ReplayMain(FuzzOptions options)
    {
        string work = Path.Combine(Path.GetTempPath(), $"mmapkv-replay-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        string copy = Path.Combine(work, "case.mkv");
        File.Copy(options.Replay!, copy, overwrite: true);
        ulong caseSeed = options.CaseSeed ?? 1;
        Console.WriteLine($"replaying {options.Replay} with case seed {caseSeed}");
        var res = Run(copy, caseSeed, options.Thorough);
        Console.WriteLine("typed errors: " + (res.Typed.Count == 0 ? "none" : string.Join(", ", res.Typed)));
        foreach (var n in res.Notes) Console.WriteLine("note: " + n);
        Directory.Delete(work, recursive: true);
        if (res.Unexpected is null)
        {
            Console.WriteLine("RESULT: PASS (no crash, no unexpected exception)");
            return 0;
        }
        Console.WriteLine("UNEXPECTED " + res.UnexpectedSignature);
        Console.WriteLine(res.Unexpected);
        return 3;
    }
}
