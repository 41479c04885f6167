import Foundation
import UpresMedia

/// The preview sheet: one cell per candidate, side by side (a grid of up to ceil(sqrt(n))
/// columns when there are more than three), each with the whole upscaled frame (fitted to the
/// panel width), under it the busiest region at a 2x pixel zoom, and a label band: the name,
/// then MACs per pixel, milliseconds and Y-PSNR, then (routed families) the tile classes, whose
/// borders and colours are drawn over that candidate's frame.
public enum PreviewSheet {
    public static let margin = 12, gap = 12, titleHeight = 32, zoomGap = 6, labelHeight = 64, zoom = 2
    public static let background = RGB(0xF2F2F2)
    static let text: UInt32 = 0x202020, dimText: UInt32 = 0x505050
    /// Tile class colours, as in the dashboard: static blue, flat magenta, easy green, medium
    /// yellow, hard red.
    public static let classColours: [TileClass: UInt32] = [.static: 0x3C78D8, .flat: 0xC040C0, .easy: 0x2CA02C,
                                                           .medium: 0xE0B000, .hard: 0xD62728]

    public struct Layout: Sendable, Equatable {
        public var panelWidth: Int
        public var panelHeight: Int
        public var columns: Int
        public var rows: Int
        public var width: Int
        public var height: Int
        public var cellHeight: Int { panelHeight + zoomGap + panelHeight + labelHeight }
        public func cell(_ i: Int) -> (x: Int, y: Int) {
            (margin + (i % columns) * (panelWidth + gap), margin + titleHeight + (i / columns) * (cellHeight + gap))
        }
        /// The region of the output (in output pixels) the zoomed view shows, at most.
        public var zoomRegion: (width: Int, height: Int) { (panelWidth / zoom, panelHeight / zoom) }
    }

    /// The layout for `count` candidates of an `outputWidth` x `outputHeight` frame: panels
    /// `min(panelWidth, outputWidth)` wide with the frame's aspect ratio.
    public static func layout(count: Int, outputWidth: Int, outputHeight: Int, panelWidth: Int) -> Layout {
        let pw = min(panelWidth, outputWidth)
        let ph = max(2, Int((Double(outputHeight) * Double(pw) / Double(outputWidth)).rounded()))
        let columns = count <= 3 ? max(1, count) : Int(Double(count).squareRoot().rounded(.up))
        let rows = (count + columns - 1) / columns
        let cellHeight = ph + zoomGap + ph + labelHeight
        return Layout(panelWidth: pw, panelHeight: ph, columns: columns, rows: rows,
                      width: 2 * margin + columns * pw + (columns - 1) * gap,
                      height: 2 * margin + titleHeight + rows * cellHeight + (rows - 1) * gap)
    }

    /// Draws the sheet. `crop` is the zoomed region in output pixels.
    public static func render(_ results: [PreviewResult], title: String, layout: Layout,
                              crop: (x: Int, y: Int, width: Int, height: Int), labeller: TextLabeller) throws -> Frame {
        let canvas = try Canvas(width: layout.width, height: layout.height, background: background)
        var labels = [TextLabel(try fit(title, size: 15, width: layout.width - 2 * margin, labeller), x: margin, y: margin + 4,
                                size: 15, colour: text)]
        for (i, r) in results.enumerated() {
            let (cx, cy) = layout.cell(i)
            let rgb = try toRGB(r.frame, r.format)
            let ow = Int(rgb.width), oh = Int(rgb.height)
            // The whole frame, fitted to the panel.
            var shown = rgb
            if ow != layout.panelWidth || oh != layout.panelHeight {
                var from = VideoFormat(width: rgb.width, height: rgb.height, pixelFormat: PixelFormat.rgb24)
                from.colour.matrix = ColourDescription.rgb.matrix
                let to = from.resized(width: Int32(layout.panelWidth), height: Int32(layout.panelHeight))
                shown = try Frame(width: to.width, height: to.height, format: PixelFormat.rgb24)
                try FrameScaler(from: from, to: to, filter: .lanczos, threads: 1).scale(rgb, into: shown)
            }
            canvas.draw(shown, dx: cx, dy: cy)
            let fx = Double(layout.panelWidth) / Double(ow), fy = Double(layout.panelHeight) / Double(oh)
            if let grid = r.grid, !r.classMap.isEmpty, r.candidate.kind == .routed || Set(r.classMap).count > 1 {
                // Tile classes over the frame: tinted, with their borders.
                let gx = Double(layout.panelWidth) / Double(grid.width), gy = Double(layout.panelHeight) / Double(grid.height)
                for t in grid.tiles where t.index < r.classMap.count {
                    let c = RGB(classColours[r.classMap[t.index]] ?? 0x808080)
                    let x0 = cx + Int((Double(t.ownedX) * gx).rounded()), y0 = cy + Int((Double(t.ownedY) * gy).rounded())
                    let x1 = cx + Int((Double(t.ownedX + t.ownedWidth) * gx).rounded())
                    let y1 = cy + Int((Double(t.ownedY + t.ownedHeight) * gy).rounded())
                    canvas.blend(x: x0, y: y0, w: x1 - x0, h: y1 - y0, c, alpha: 0.15)
                    canvas.outline(x: x0, y: y0, w: x1 - x0, h: y1 - y0, c)
                }
            }
            // Where the zoomed region is.
            canvas.outline(x: cx + Int(Double(crop.x) * fx) - 1, y: cy + Int(Double(crop.y) * fy) - 1,
                           w: Int(Double(crop.width) * fx) + 2, h: Int(Double(crop.height) * fy) + 2, RGB(0xFFFFFF))
            let zy = cy + layout.panelHeight + zoomGap
            canvas.fill(x: cx, y: zy, w: layout.panelWidth, h: layout.panelHeight, RGB(0x000000))
            canvas.draw(rgb, sx: crop.x, sy: crop.y, sw: crop.width, sh: crop.height, dx: cx, dy: zy, zoom: zoom)
            // The label band.
            let ly = zy + layout.panelHeight
            canvas.fill(x: cx, y: ly, w: layout.panelWidth, h: labelHeight, RGB(0xFFFFFF))
            labels.append(TextLabel(try fit(r.candidate.name, size: 14, width: layout.panelWidth - 12, labeller),
                                    x: cx + 6, y: ly + 5, size: 14, colour: text))
            var figures = [macs(r), String(format: r.milliseconds < 10 ? "%.1f ms" : "%.0f ms", r.milliseconds)]
            if let q = r.quality { figures.append(q.psnr[0].isFinite ? String(format: "Y-PSNR %.2f dB", q.psnr[0]) : "Y-PSNR inf") }
            labels.append(TextLabel(try fit(figures.joined(separator: "   "), size: 12, width: layout.panelWidth - 12, labeller),
                                    x: cx + 6, y: ly + 25, size: 12, colour: dimText))
            if !r.classMap.isEmpty && (r.candidate.kind == .routed || Set(r.classMap).count > 1) {
                var x = cx + 6
                for c in TileClass.allCases where r.classes[c] > 0 {
                    let word = "\(c.name) \(r.classes[c])"
                    if x + 11 + word.count * 6 > cx + layout.panelWidth { break }
                    canvas.fill(x: x, y: ly + 47, w: 8, h: 8, RGB(classColours[c] ?? 0x808080))
                    labels.append(TextLabel(word, x: x + 11, y: ly + 51, size: 11, colour: dimText, middle: true))
                    x += 11 + (try labeller.measure(word, size: 11).width) + 10
                }
            }
        }
        try canvas.label(labels, with: labeller)
        return canvas.frame
    }

    /// `text`, cut short with an ellipsis where it is wider than `width` pixels.
    static func fit(_ text: String, size: Int, width: Int, _ labeller: TextLabeller) throws -> String {
        let full = try labeller.measure(text, size: size).width
        if full <= width { return text }
        var t = String(text.prefix(max(1, text.count * width / max(1, full))))   // about the right length
        while t.count > 1 {
            t.removeLast()
            if try labeller.measure(t + "…", size: size).width <= width { return t + "…" }
        }
        return t
    }

    static func macs(_ r: PreviewResult) -> String {
        let m = r.macsPerPixel
        if r.candidate.kind == .classical || m == 0 { return "no network" }
        if m >= 1e6 { return String(format: "%.2fM MACs/px", m / 1e6) }
        if m >= 1e3 { return String(format: "%.1fk MACs/px", m / 1e3) }
        return String(format: "%.0f MACs/px", m)
    }

    /// A frame of any format as RGB24, with its stated matrix and range.
    public static func toRGB(_ frame: Frame, _ format: VideoFormat) throws -> Frame {
        var target = format
        target.width = frame.width
        target.height = frame.height
        target.pixelFormat = PixelFormat.rgb24
        target.colour.matrix = ColourDescription.rgb.matrix
        target.colour.range = ColourDescription.rgb.range
        return try FrameConverter(stream: format, target: target).convert(frame)
    }
}
