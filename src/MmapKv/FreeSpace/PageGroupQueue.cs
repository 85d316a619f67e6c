namespace MmapKv.FreeSpace;

/// <summary>
/// A first-in, first-out queue of page groups, each a header of two keys and the group's page ids. Every group's
/// ids live in one ring buffer and the headers in one queue, so queuing and releasing the pages of a commit
/// allocates nothing once the buffers have grown to the workload (a commit used to allocate an array per group).
/// Touched only by the writer, under the writer lock.
/// </summary>
/// <remarks>
/// A group is written by <see cref="Push"/> (its ids, in any order) followed by <see cref="EndGroup"/>, and read by
/// <see cref="Dequeue"/> followed by exactly that many <see cref="Pop"/> calls. The ring shrinks back when it empties
/// after a large burst (a bulk delete), so one big commit does not pin its peak size for the life of the database.
/// </remarks>
internal sealed class PageGroupQueue
{
    private const int InitialCapacity = 64;
    private const int RetainLimit = 1 << 16; // ids; a ring emptied above this goes back to the initial size

    private readonly Queue<(long A, long B, int Count)> _groups = new();
    private long[] _ids = new long[InitialCapacity]; // a power of two, so the ring wraps with a mask
    private int _head;  // index of the oldest id
    private int _size;  // ids in the ring: every queued group's, plus the group being pushed
    private int _open;  // ids pushed since the last EndGroup

    /// <summary>Groups queued (ended and not dequeued).</summary>
    public int Count => _groups.Count;

    /// <summary>The oldest group's header; the queue must not be empty.</summary>
    public (long A, long B, int Count) Peek() => _groups.Peek();

    /// <summary>Adds an id to the group being built.</summary>
    public void Push(long id)
    {
        if (_size == _ids.Length) Grow();
        _ids[(_head + _size) & (_ids.Length - 1)] = id;
        _size++;
        _open++;
    }

    /// <summary>Ends the group being built (its ids are the ones pushed since the last call) under keys <paramref name="a"/> and <paramref name="b"/>. An empty group is not queued.</summary>
    public void EndGroup(long a, long b)
    {
        if (_open == 0) return;
        _groups.Enqueue((a, b, _open));
        _open = 0;
    }

    /// <summary>Removes the oldest group's header; its ids follow through <see cref="Pop"/>, exactly <c>Count</c> of them.</summary>
    public (long A, long B, int Count) Dequeue() => _groups.Dequeue();

    /// <summary>The next id of the group last dequeued.</summary>
    public long Pop()
    {
        long id = _ids[_head];
        _head = (_head + 1) & (_ids.Length - 1);
        if (--_size == 0)
        {
            _head = 0;
            if (_ids.Length > RetainLimit) _ids = new long[InitialCapacity];
        }
        return id;
    }

    private void Grow()
    {
        var bigger = new long[_ids.Length * 2];
        int tail = Math.Min(_size, _ids.Length - _head);
        Array.Copy(_ids, _head, bigger, 0, tail);
        Array.Copy(_ids, 0, bigger, tail, _size - tail);
        _ids = bigger;
        _head = 0;
    }
}
