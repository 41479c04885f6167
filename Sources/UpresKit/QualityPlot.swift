import Foundation
import UpresMedia

/// Draws a figure over time (PSNR-Y per frame) as a line chart: one line per series in the
/// palette's colours, axes with ticks and labels, a title, and a legend with the series names
/// in a band under the x axis. Lines and axes are drawn on a `Canvas`, the text with `TextLabeller`.
///
/// Layout of a W x H plot: a 52-pixel band on top (title, y-axis caption), the plot area from
/// x = 64 to W - 20, then 44 pixels of x-axis ticks and caption, then the legend (22 pixels a
/// row, 8 below).
public enum QualityPlot {
    public struct Series: Sendable {
        public var name: String
        /// (seconds, value); infinite values (identical frames) are drawn at the top of the axis.
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public static let palette: [UInt32] = [0x1F77B4, 0xD62728, 0x2CA02C, 0xFF7F0E, 0x9467BD, 0x8C564B, 0xE377C2, 0x17BECF]
    public static let background = RGB(0xFFFFFF)
    public static let textColour: UInt32 = 0x202020
    static let left = 64, right = 20, top = 52, axisBand = 44, legendRow = 22

    public static func colour(_ index: Int) -> RGB { RGB(palette[index % palette.count]) }

    /// The plot as an RGB24 frame.
    public static func render(_ series: [Series], title: String, xCaption: String = "time (s)",
                              yCaption: String = "PSNR-Y (dB)", width: Int, height: Int,
                              labeller: TextLabeller) throws -> Frame {
        let canvas = try Canvas(width: width, height: height, background: background)
        var labels: [TextLabel] = []
        // The legend: entries left to right, wrapping.
        var entries: [(x: Int, row: Int, width: Int)] = []
        var x = left, row = 0
        for s in series {
            let w = 30 + (try labeller.measure(s.name, size: 13).width) + 18
            if x + w > width - right && x > left { x = left; row += 1 }
            entries.append((x, row, w))
            x += w
        }
        let legendHeight = series.isEmpty ? 0 : (row + 1) * legendRow + 8
        let plotX0 = left, plotX1 = width - right, plotY0 = top, plotY1 = height - legendHeight - axisBand
        guard plotX1 - plotX0 >= 80, plotY1 - plotY0 >= 60 else {
            throw MediaInputError("a \(width)x\(height) plot is too small for \(series.count) lines and their legend")
        }

        // Ranges and ticks.
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        var (xMin, xMax) = (xs.min() ?? 0, xs.max() ?? 1)
        if xMax - xMin < 1e-9 { xMin -= 0.5; xMax += 0.5 }
        var (yMin, yMax) = (ys.min() ?? 0, ys.max() ?? 100)
        if yMax - yMin < 0.5 { let c = (yMax + yMin) / 2; yMin = c - 0.25; yMax = c + 0.25 }
        let xStep = niceStep((xMax - xMin) / 8), yStep = niceStep((yMax - yMin) / 6)
        yMin = (yMin / yStep).rounded(.down) * yStep
        yMax = (yMax / yStep).rounded(.up) * yStep
        func px(_ v: Double) -> Double { Double(plotX0) + (v - xMin) / (xMax - xMin) * Double(plotX1 - plotX0 - 1) }
        func py(_ v: Double) -> Double {
            let c = v.isFinite ? min(max(v, yMin), yMax) : yMax
            return Double(plotY1 - 1) - (c - yMin) / (yMax - yMin) * Double(plotY1 - plotY0 - 1)
        }
        let grid = RGB(0xE6E6E6), axis = RGB(0x404040)
        var t = (xMin / xStep).rounded(.up) * xStep
        while t <= xMax + xStep * 1e-6 {
            let p = Int(px(t).rounded())
            canvas.fill(x: p, y: plotY0, w: 1, h: plotY1 - plotY0, grid)
            canvas.fill(x: p, y: plotY1, w: 1, h: 5, axis)
            labels.append(TextLabel(format(t, step: xStep), x: p, y: plotY1 + 8, size: 12, colour: textColour, align: .centre))
            t += xStep
        }
        var v = yMin
        while v <= yMax + yStep * 1e-6 {
            let p = Int(py(v).rounded())
            canvas.fill(x: plotX0, y: p, w: plotX1 - plotX0, h: 1, grid)
            canvas.fill(x: plotX0 - 5, y: p, w: 5, h: 1, axis)
            labels.append(TextLabel(format(v, step: yStep), x: plotX0 - 9, y: p, size: 12, colour: textColour,
                                    align: .right, middle: true))
            v += yStep
        }
        canvas.fill(x: plotX0, y: plotY0, w: 1, h: plotY1 - plotY0, axis)
        canvas.fill(x: plotX0, y: plotY1 - 1, w: plotX1 - plotX0, h: 1, axis)

        // The lines, markers where points are few.
        for (i, s) in series.enumerated() {
            let c = colour(i)
            let pts = s.points.sorted { $0.x < $1.x }
            for (a, b) in zip(pts, pts.dropFirst()) { canvas.line(px(a.x), py(a.y), px(b.x), py(b.y), c, width: 2) }
            if pts.count <= 40 {
                for p in pts { canvas.fill(x: Int(px(p.x).rounded()) - 3, y: Int(py(p.y).rounded()) - 3, w: 7, h: 7, c) }
            }
        }

        // Captions, title, legend.
        labels.append(TextLabel(title, x: plotX0, y: 8, size: 16, colour: textColour))
        labels.append(TextLabel(yCaption, x: 8, y: 31, size: 12, colour: textColour))
        labels.append(TextLabel(xCaption, x: (plotX0 + plotX1) / 2, y: plotY1 + 26, size: 12, colour: textColour, align: .centre))
        let legendTop = height - legendHeight + 4
        for (i, (s, e)) in zip(series, entries).enumerated() {
            let y = legendTop + e.row * legendRow + legendRow / 2
            canvas.fill(x: e.x, y: y - 2, w: 24, h: 4, colour(i))
            labels.append(TextLabel(s.name, x: e.x + 30, y: y, size: 13, colour: textColour, middle: true))
        }
        try canvas.label(labels, with: labeller)
        return canvas.frame
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, (log10(raw)).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * p >= raw { return m * p }
        return 10 * p
    }

    static func format(_ v: Double, step: Double) -> String {
        let decimals = max(0, Int(-(log10(step)).rounded(.down)))
        return String(format: "%.\(decimals)f", abs(v) < step * 1e-6 ? 0 : v)
    }
}
