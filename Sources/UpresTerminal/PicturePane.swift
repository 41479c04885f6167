import UpresProgress

/// How many colours the terminal can show a picture in.
public enum PictureColours: String, Sendable, Equatable {
    /// 24-bit colour (`COLORTERM=truecolor`, or terminfo's RGB/Tc flag).
    case truecolor
    /// The xterm 256-colour palette (6x6x6 cube and 24 greys).
    case palette256
}

/// The dashboard's picture pane as a pure function: a thumbnail of the last output frame drawn
/// with half blocks (U+2580: the top pixel in the foreground colour, the bottom one in the
/// background colour, so a cell holds two square pixels), centred in `columns` x `rows` cells;
/// optionally the tile classes of the last frame tinted over it. The result is terminal text
/// with SGR colour sequences, one string per row, for a driver that writes it as it is.
///
///     let rows = PicturePane.render(thumbnail, columns: 60, rows: 20, colours: .truecolor)
public enum PicturePane {
    /// The largest picture (pixels) a pane of `columns` x `rows` cells shows.
    public static func pixelSize(columns: Int, rows: Int, unicode: Bool = true) -> (width: Int, height: Int) {
        (max(0, columns), max(0, rows) * (unicode ? 2 : 1))
    }

    /// The tile-class map drawn over the picture: `columns` x `rows` tiles, row-major.
    public struct ClassOverlay: Sendable, Equatable {
        public var classes: [TileClass]
        public var columns: Int
        public var rows: Int
        public init(classes: [TileClass], columns: Int, rows: Int) {
            self.classes = classes
            self.columns = columns
            self.rows = rows
        }
        public init?(stats: PipelineStats) {
            guard stats.tileColumns > 0, stats.tileRows > 0, stats.lastFrameMap.count >= stats.tileColumns * stats.tileRows
            else { return nil }
            self.init(classes: stats.lastFrameMap, columns: stats.tileColumns, rows: stats.tileRows)
        }
    }

    /// The colours the dashboard uses for the classes (ClassSR's masks: green / yellow / red).
    public static func colour(of c: TileClass) -> (UInt8, UInt8, UInt8) {
        switch c {
        case .static: return (40, 90, 230)
        case .flat: return (200, 60, 200)
        case .easy: return (40, 200, 60)
        case .medium: return (230, 200, 30)
        case .hard: return (230, 40, 40)
        }
    }

    public static func render(_ t: FrameThumbnail, columns: Int, rows: Int, colours: PictureColours,
                              unicode: Bool = true, overlay: ClassOverlay? = nil) -> [String] {
        guard columns > 0, rows > 0 else { return [] }
        let perCell = unicode ? 2 : 1
        let usedColumns = min(columns, t.width)
        let usedRows = min(rows, (t.height + perCell - 1) / perCell)
        let left = (columns - usedColumns) / 2, top = (rows - usedRows) / 2
        func pixel(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
            let (r, g, b) = t.pixel(min(x, t.width - 1), min(y, t.height - 1))
            guard let o = overlay else { return (r, g, b) }
            let tx = min(o.columns - 1, x * o.columns / t.width), ty = min(o.rows - 1, y * o.rows / t.height)
            let (cr, cg, cb) = colour(of: o.classes[ty * o.columns + tx])
            func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Int(a) + Int(b)) / 2) }
            return (mix(r, cr), mix(g, cg), mix(b, cb))
        }
        func sgr(_ ground: Int, _ c: (UInt8, UInt8, UInt8)) -> String {
            switch colours {
            case .truecolor: return "\u{1B}[\(ground);2;\(c.0);\(c.1);\(c.2)m"
            case .palette256: return "\u{1B}[\(ground);5;\(palette256(c.0, c.1, c.2))m"
            }
        }
        let blank = String(repeating: " ", count: columns)
        var out: [String] = []
        for row in 0..<rows {
            guard row >= top && row < top + usedRows else {
                out.append(blank)
                continue
            }
            var line = "\u{1B}[0m" + String(repeating: " ", count: left)
            var lastFg = "", lastBg = ""
            let y = (row - top) * perCell
            for column in 0..<usedColumns {
                let x = column
                if unicode {
                    let upper = pixel(x, y)
                    let lower = y + 1 < t.height ? pixel(x, y + 1) : upper
                    let fg = sgr(38, upper), bg = sgr(48, lower)
                    if fg != lastFg { line += fg; lastFg = fg }
                    if bg != lastBg { line += bg; lastBg = bg }
                    line += "\u{2580}"
                } else {
                    let bg = sgr(48, pixel(x, y))
                    if bg != lastBg { line += bg; lastBg = bg }
                    line += " "
                }
            }
            line += "\u{1B}[0m" + String(repeating: " ", count: columns - left - usedColumns)
            out.append(line)
        }
        return out
    }

    /// The nearest xterm 256-colour index: the 6x6x6 cube (16-231) or the grey ramp (232-255).
    public static func palette256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func nearest(_ v: UInt8) -> Int {
            levels.indices.min { abs(levels[$0] - Int(v)) < abs(levels[$1] - Int(v)) }!
        }
        let (ri, gi, bi) = (nearest(r), nearest(g), nearest(b))
        func distance(_ a: (Int, Int, Int)) -> Int {
            let (dr, dg, db) = (a.0 - Int(r), a.1 - Int(g), a.2 - Int(b))
            return dr * dr + dg * dg + db * db
        }
        let cube = (levels[ri], levels[gi], levels[bi])
        let mean = (Int(r) + Int(g) + Int(b)) / 3
        let greyIndex = max(0, min(23, (mean - 8 + 5) / 10))
        let grey = 8 + 10 * greyIndex
        return distance((grey, grey, grey)) < distance(cube) ? 232 + greyIndex : 16 + 36 * ri + 6 * gi + bi
    }
}
