using System.Globalization;
using System.Net;
using System.Text;
using MmapKv.Benchmarks.Engines;
using MmapKv.Benchmarks.Workloads;

namespace MmapKv.Benchmarks.Report;

/// <summary>
/// A horizontal bar chart of the ratios (peer / MmapKv) per workload, on a log scale centred on 1: bars to the
/// right mean MmapKv is faster, to the left that the peer is. Plain SVG written by hand, no external tools.
/// </summary>
internal static class SvgChart
{
    private static readonly string[] Palette = ["#4e79a7", "#9c755f", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"];
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    private const int Width = 960;
    private const int LabelWidth = 330;
    private const int RightMargin = 60;
    private const int BarHeight = 13;
    private const int GroupGap = 10;
    private const int Top = 70;

    public static void Write(string path, Results results, IReadOnlyList<IEngine> engines, string title)
    {
        var peers = engines.Where(e => e.Id != "mmapkv").ToList();
        var rows = results.Rows.Where(r => peers.Any(p => results.Ratio(r, p.Id) is not null)).ToList();
        var ratios = rows.SelectMany(r => peers.Select(p => results.Ratio(r, p.Id))).OfType<double>().Where(v => v > 0).ToList();
        double lo = Math.Min(0.5, ratios.DefaultIfEmpty(1).Min()), hi = Math.Max(2, ratios.DefaultIfEmpty(1).Max());
        double logLo = Math.Floor(Math.Log10(lo) * 2) / 2, logHi = Math.Ceiling(Math.Log10(hi) * 2) / 2; // half decades
        double plotLeft = LabelWidth, plotRight = Width - RightMargin;
        double X(double v) => plotLeft + (Math.Log10(Math.Clamp(v, Math.Pow(10, logLo), Math.Pow(10, logHi))) - logLo) / (logHi - logLo) * (plotRight - plotLeft);

        int groupHeight = peers.Count * BarHeight + GroupGap;
        int height = Top + rows.Count * groupHeight + 40;
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">");
        sb.AppendLine($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Esc(title)}</text>");
        sb.AppendLine($"<text x=\"{Width / 2}\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">peer time / MmapKv time, log scale (file sizes: peer bytes / MmapKv bytes); right of 1 = MmapKv faster</text>");

        // Legend.
        double lx = plotLeft;
        for (int p = 0; p < peers.Count; p++)
        {
            sb.AppendLine($"<rect x=\"{F(lx)}\" y=\"50\" width=\"12\" height=\"12\" fill=\"{Palette[p % Palette.Length]}\"/>");
            sb.AppendLine($"<text x=\"{F(lx + 16)}\" y=\"60\">{Esc(peers[p].Name)}</text>");
            lx += 24 + peers[p].Name.Length * 7.5;
        }

        // Grid: 1, 2, 5 per decade.
        double plotBottom = Top + rows.Count * groupHeight;
        for (int d = (int)Math.Floor(logLo); d <= (int)Math.Ceiling(logHi); d++)
        {
            foreach (double m in new[] { 1.0, 2.0, 5.0 })
            {
                double v = m * Math.Pow(10, d);
                double lv = Math.Log10(v);
                if (lv < logLo - 1e-9 || lv > logHi + 1e-9) continue;
                double x = X(v);
                bool one = Math.Abs(v - 1) < 1e-9;
                sb.AppendLine($"<line x1=\"{F(x)}\" y1=\"{Top - 4}\" x2=\"{F(x)}\" y2=\"{F(plotBottom)}\" stroke=\"{(one ? "#222" : "#ddd")}\" stroke-width=\"{(one ? 1.5 : 1)}\"/>");
                sb.AppendLine($"<text x=\"{F(x)}\" y=\"{F(plotBottom + 16)}\" text-anchor=\"middle\" fill=\"#444\">{Esc(TickLabel(v))}</text>");
            }
        }

        // Bars.
        for (int r = 0; r < rows.Count; r++)
        {
            double y0 = Top + r * groupHeight;
            if (r % 2 == 1) sb.AppendLine($"<rect x=\"0\" y=\"{F(y0 - GroupGap / 2.0)}\" width=\"{Width}\" height=\"{groupHeight}\" fill=\"#f6f6f6\" fill-opacity=\"0.6\"/>");
            sb.AppendLine($"<text x=\"{LabelWidth - 8}\" y=\"{F(y0 + peers.Count * BarHeight / 2.0 + 4)}\" text-anchor=\"end\">{Esc(rows[r].Label)}</text>");
            for (int p = 0; p < peers.Count; p++)
            {
                if (results.Ratio(rows[r], peers[p].Id) is not { } v || v <= 0) continue;
                double y = y0 + p * BarHeight;
                double x1 = X(1), x2 = X(v);
                double left = Math.Min(x1, x2), w = Math.Max(1, Math.Abs(x2 - x1));
                sb.AppendLine($"<rect x=\"{F(left)}\" y=\"{F(y + 1)}\" width=\"{F(w)}\" height=\"{BarHeight - 2}\" fill=\"{Palette[p % Palette.Length]}\"><title>{Esc($"{rows[r].Label}: {peers[p].Name} / MmapKv = {Units.Ratio(v)}")}</title></rect>");
                double tx = v >= 1 ? x2 + 4 : x2 - 4;
                sb.AppendLine($"<text x=\"{F(tx)}\" y=\"{F(y + BarHeight - 3)}\" font-size=\"10\" text-anchor=\"{(v >= 1 ? "start" : "end")}\" fill=\"#333\">{Esc(Units.Ratio(v))}</text>");
            }
        }
        sb.AppendLine("</svg>");
        File.WriteAllText(path, sb.ToString());
    }

    private static string TickLabel(double v) => v >= 1 ? v.ToString("0", C) + "×" : v.ToString("0.###", C) + "×";

    private static string F(double v) => v.ToString("0.#", C);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
