namespace MmapKv;

/// <summary>The base of every error MmapKv raises about the database itself (as opposed to API misuse, which gets the
/// standard .NET exceptions such as <see cref="ArgumentException"/> and <see cref="ObjectDisposedException"/>).</summary>
public class MmapKvException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public MmapKvException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public MmapKvException(string message, Exception? inner) : base(message, inner) { }
}
