import UpresProgress

/// Horizontal bars drawn from cells: the progress bar, the stacked tile-class bar, the
/// tile map of a frame.
public enum Bars {
    /// `fraction` of `columns` filled, with eighth-cell precision where the glyphs allow.
    public static func progress(_ fraction: Double, columns: Int, glyphs: Glyphs) -> Line {
        guard columns > 0 else { return Line() }
        let f = fraction.isFinite ? max(0, min(1, fraction)) : 0
        let eighths = Int((f * Double(columns * 8)).rounded(.down))
        var full = eighths / 8
        var partial = glyphs.barEighths[eighths % 8]
        if full == columns { partial = "" }
        if partial.isEmpty && eighths % 8 >= 4 && full < columns { full += 1 }   // ASCII: round half up
        var l = Line(String(repeating: glyphs.barFull, count: full), .barDone)
        l.append(partial, .barDone)
        l.append(String(repeating: glyphs.barTodo, count: columns - full - (partial.isEmpty ? 0 : 1)), .barTodo)
        return l
    }

    /// Cells per class for a stacked bar `columns` wide: proportional to the counts and
    /// summing to `columns` exactly (largest remainders get the spare cells).
    public static func classWidths(_ counts: ClassCounts, columns: Int) -> [Int] {
        let total = counts.total
        guard total > 0, columns > 0 else { return Array(repeating: 0, count: TileClass.allCases.count) }
        let exact = TileClass.allCases.map { Double(counts[$0]) * Double(columns) / Double(total) }
        var widths = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(widths[$0])) > (exact[$1] - Double(widths[$1])) }
        var spare = columns - widths.reduce(0, +)
        for i in order where spare > 0 {
            widths[i] += 1
            spare -= 1
        }
        return widths
    }

    /// The tile classes of `counts` as one stacked bar; solid coloured cells with colour,
    /// distinct shades without. An empty count gives a blank (to-do) bar.
    public static func classes(_ counts: ClassCounts, columns: Int, glyphs: Glyphs, colour: Bool) -> Line {
        guard counts.total > 0 else { return Line(String(repeating: glyphs.barTodo, count: max(0, columns)), .barTodo) }
        var l = Line()
        for (c, w) in zip(TileClass.allCases, classWidths(counts, columns: columns)) {
            l.append(String(repeating: colour ? glyphs.solid : glyphs.shade(c), count: w), .tile(c))
        }
        return l
    }

    /// The tile map (row-major, `columns` x `rows` tiles) scaled into at most `maxColumns` x
    /// `maxRows` cells. A tile takes two cells across when there is room (terminal cells are
    /// about twice as tall as wide); a cell covering several tiles shows their most common
    /// class (ties go to the costlier class).
    public static func tileMap(_ map: [TileClass], columns: Int, rows: Int, maxColumns: Int, maxRows: Int,
                               glyphs: Glyphs, colour: Bool) -> [Line] {
        guard columns > 0, rows > 0, map.count >= columns * rows, maxColumns > 0, maxRows > 0 else { return [] }
        let cellsX = min(maxColumns, columns * 2)
        let cellsY = min(maxRows, rows)
        var lines: [Line] = []
        for y in 0..<cellsY {
            var l = Line()
            let r0 = y * rows / cellsY, r1 = max(r0 + 1, (y + 1) * rows / cellsY)
            for x in 0..<cellsX {
                let c0 = x * columns / cellsX, c1 = max(c0 + 1, (x + 1) * columns / cellsX)
                var counts = ClassCounts()
                for r in r0..<r1 { for c in c0..<c1 { counts[map[r * columns + c]] += 1 } }
                let best = TileClass.allCases.reversed().max { counts[$0] < counts[$1] }!
                l.append(colour ? glyphs.solid : glyphs.shade(best), .tile(best))
            }
            lines.append(l)
        }
        return lines
    }
}
