import Foundation

/// A rectangle of adjacent tiles that the network runs as one window: the tiles share their
/// context margins instead of each paying its own, so routing's fine grid costs no margin
/// overhead on frames whose tiles go to the same branch. With margins of the receptive field's
/// radius (`ModelFamily.exactTiling`) the output is the same as running each tile alone.
///
///     let grid = TileGrid(width: 640, height: 360, tile: 128, margin: 10)
///     grid.windows(classes: Array(repeating: .hard, count: 15), maxPixels: .max)
///     // one window: core 640x360 at (0, 0), run as 660x380
public struct TileWindow: Sendable, Equatable {
    /// Tile rectangle, in grid columns and rows.
    public var column: Int
    public var row: Int
    public var columns: Int
    public var rows: Int
    /// Core (frame coordinates): what the network computes besides the margins.
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    /// The union of the tiles' owned regions (frame coordinates).
    public var ownedX: Int
    public var ownedY: Int
    public var ownedWidth: Int
    public var ownedHeight: Int

    /// Indices of the tiles it covers.
    public func tiles(in grid: TileGrid) -> [Int] {
        (row..<(row + rows)).flatMap { r in (column..<(column + columns)).map { r * grid.columns + $0 } }
    }
}

extension TileGrid {
    /// The input rectangle the network reads for the window (`input(x:y:w:h:)`).
    public func input(of w: TileWindow) -> (x: Int, y: Int, w: Int, h: Int) {
        input(x: w.x, y: w.y, w: w.width, h: w.height)
    }

    /// The window of the tile rectangle starting at (`column`, `row`).
    public func window(column: Int, row: Int, columns: Int = 1, rows: Int = 1) -> TileWindow {
        let first = tiles[row * self.columns + column], last = tiles[(row + rows - 1) * self.columns + column + columns - 1]
        return TileWindow(column: column, row: row, columns: columns, rows: rows,
                          x: first.x, y: first.y, width: last.x + coreWidth - first.x, height: last.y + coreHeight - first.y,
                          ownedX: first.ownedX, ownedY: first.ownedY,
                          ownedWidth: last.ownedX + last.ownedWidth - first.ownedX,
                          ownedHeight: last.ownedY + last.ownedHeight - first.ownedY)
    }

    /// Groups the tiles for which `merge` is true into windows of tiles of one class: greedy
    /// rectangles, row-major (each grows right, then down while the whole row below matches),
    /// none over `maxPixels` input pixels with margins. Every other tile is a window of its own.
    /// Windows are listed in row-major order of their first tile.
    public func windows(classes: [TileClass], maxPixels: Int, merge: (TileClass) -> Bool) -> [TileWindow] {
        precondition(classes.count == tiles.count, "one class per tile")
        var taken = Array(repeating: false, count: tiles.count)
        var out: [TileWindow] = []
        func fits(_ w: TileWindow) -> Bool { let r = input(of: w); return r.w * r.h <= maxPixels }
        for r in 0..<rows {
            for c in 0..<columns where !taken[r * columns + c] {
                let cls = classes[r * columns + c]
                var w = window(column: c, row: r)
                if merge(cls) {
                    func free(_ i: Int) -> Bool { !taken[i] && classes[i] == cls }
                    while w.column + w.columns < columns, free(r * columns + w.column + w.columns) {
                        let wider = window(column: c, row: r, columns: w.columns + 1)
                        guard fits(wider) else { break }
                        w = wider
                    }
                    while w.row + w.rows < rows,
                          (c..<(c + w.columns)).allSatisfy({ free((w.row + w.rows) * columns + $0) }) {
                        let taller = window(column: c, row: r, columns: w.columns, rows: w.rows + 1)
                        guard fits(taller) else { break }
                        w = taller
                    }
                }
                for i in w.tiles(in: self) { taken[i] = true }
                out.append(w)
            }
        }
        return out
    }
}
