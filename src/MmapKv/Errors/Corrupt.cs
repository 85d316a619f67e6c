using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MmapKv;

/// <summary>
/// The one way the engine reports damage: a <see cref="CorruptDatabaseException"/> carrying the page where it was
/// found (when there is one) and the reason. Throwing through a non-inlined helper keeps the throw and the message
/// formatting out of the callers, as dotnet/runtime's ThrowHelper does, so hot paths stay small.
/// </summary>
internal static class Corrupt
{
    /// <summary>Throws for damage found on page <paramref name="pageId"/>.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(long pageId, string reason) => throw new CorruptDatabaseException(pageId, reason);

    /// <summary>Throws for damage not tied to one page (the file as a whole, a meta record, the catalog).</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(string reason) => throw new CorruptDatabaseException(reason);

    /// <summary>The exception for page <paramref name="pageId"/>, for expression contexts (<c>?? throw</c>, a catch clause).</summary>
    public static CorruptDatabaseException Create(long pageId, string reason) => new(pageId, reason);

    /// <summary>The exception for damage not tied to one page, for expression contexts.</summary>
    public static CorruptDatabaseException Create(string reason) => new(reason);
}
