using System.Globalization;
using MmapKv.Benchmarks.Workloads;

namespace MmapKv.Benchmarks.Report;

internal static class Units
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Value(Row row, double v) => double.IsNaN(v) ? "n/a" : row.Kind switch
    {
        MetricKind.Bytes => Bytes(v),
        MetricKind.Fraction or MetricKind.PerEvent => v.ToString("0.00", C),
        MetricKind.Rate => PerSecond(v),
        _ => Millis(v),
    };

    /// <summary>Operations per second: "1,234/s", "56.7 K/s", "1.23 M/s".</summary>
    public static string PerSecond(double v) =>
        v >= 1_000_000 ? (v / 1_000_000).ToString("0.00", C) + " M/s"
        : v >= 10_000 ? (v / 1_000).ToString("0.0", C) + " K/s"
        : v.ToString("N0", C) + "/s";

    public static string Millis(double ms) =>
        ms >= 10_000 ? (ms / 1000).ToString("0.0", C) + " s"
        : ms >= 1_000 ? (ms / 1000).ToString("0.00", C) + " s"
        : ms >= 100 ? ms.ToString("0", C) + " ms"
        : ms >= 10 ? ms.ToString("0.0", C) + " ms"
        : ms.ToString("0.00", C) + " ms";

    public static string Bytes(double b) =>
        b >= 1 << 30 ? (b / (1 << 30)).ToString("0.00", C) + " GiB"
        : b >= 1 << 20 ? (b / (1 << 20)).ToString("0.0", C) + " MiB"
        : (b / 1024).ToString("0", C) + " KiB";

    public static string Ratio(double? r) => r is { } v ? v.ToString(v >= 100 ? "0" : v >= 10 ? "0.0" : "0.00", C) + "×" : "–";

    public static string Number(double v, string format) => v.ToString(format, C);
}
