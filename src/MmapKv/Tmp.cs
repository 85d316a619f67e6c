namespace MmapKv; internal static class Placeholder {}
