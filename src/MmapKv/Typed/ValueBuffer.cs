using System.Buffers;
using System.Diagnostics;

namespace MmapKv;

/// <summary>
/// The pooled buffer a typed put encodes its value into: one per thread, reused, so a put of a fixed-size value
/// allocates nothing after the first on a thread. <see cref="Rent"/> takes it off the thread while in use, so a codec
/// that puts from inside its own Encode gets a fresh one instead of overwriting the outer value.
/// </summary>
internal sealed class ValueBuffer : IBufferWriter<byte>
{
    /// <summary>A buffer that grew past this goes back to the array pool after use, so a thread never keeps a large one.</summary>
    private const int KeepBytes = 64 * 1024;
    private const int InitialBytes = 256;

    [ThreadStatic] private static ValueBuffer? t_cached;

    private byte[] _array = [];
    private int _written;

    public static ValueBuffer Rent()
    {
        var buffer = t_cached ?? new ValueBuffer();
        t_cached = null;
        return buffer;
    }

    public static void Return(ValueBuffer buffer)
    {
        buffer._written = 0;
        if (buffer._array.Length > KeepBytes)
        {
            ArrayPool<byte>.Shared.Return(buffer._array);
            buffer._array = [];
        }
        t_cached = buffer;
    }

    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _written);

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_array.Length - _written))
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Advanced past the {_array.Length - _written} bytes the buffer has left.");
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        int need = Math.Max(sizeHint, 1);
        if (_array.Length - _written >= need) return;
        long wanted = Math.Max(Math.Max((long)_written + need, (long)_array.Length * 2), InitialBytes);
        if ((long)_written + need > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(sizeHint), sizeHint, $"A value of more than {Array.MaxLength} bytes does not fit one buffer.");
        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(wanted, Array.MaxLength));
        _array.AsSpan(0, _written).CopyTo(bigger);
        if (_array.Length > 0) ArrayPool<byte>.Shared.Return(_array);
        _array = bigger;
        Debug.Assert(_array.Length - _written >= need);
    }
}
