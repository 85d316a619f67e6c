using MmapKv.Format;

namespace MmapKv.Catalog;

/// <summary>One validated catalog entry: a named tree and its descriptor.</summary>
internal readonly record struct CatalogEntry(string Name, TreeDescriptor Descriptor);
