import CFFmpeg
import Testing
import UpresEngine
import UpresMedia
@testable import UpresKit

/// Adjacent tiles of one branch run as one window with shared margins (`TileWindow`).
@Suite("Merged tile windows")
struct MergedWindowTests {
    @Test("windows cover every tile once, hold one class each, and respect the pixel cap")
    func partition() {
        let grid = TileGrid(width: 97, height: 61, tile: 24, margin: 5)   // 5 x 3 tiles
        let h = TileClass.hard, e = TileClass.easy, f = TileClass.flat
        let classes: [TileClass] = [h, h, e, e, f,
                                    h, h, e, h, f,
                                    e, h, h, h, f]
        let all = grid.windows(classes: classes, maxPixels: .max) { $0 != .flat && $0 != .static }
        var seen = Array(repeating: 0, count: grid.tiles.count)
        for w in all {
            let ts = w.tiles(in: grid)
            for t in ts { seen[t] += 1 }
            #expect(Set(ts.map { classes[$0] }).count == 1, "\(w)")
            // The owned region is the union of the tiles' owned regions.
            #expect(w.ownedWidth * w.ownedHeight == ts.map { grid.tiles[$0].ownedWidth * grid.tiles[$0].ownedHeight }.reduce(0, +))
        }
        #expect(seen.allSatisfy { $0 == 1 })
        // Greedy row-major: the 2x2 hard block, the 2-wide easy run, then singles and runs.
        #expect(all[0].columns == 2 && all[0].rows == 2 && all[0].x == 0 && all[0].width == 2 * grid.coreWidth)
        #expect(all[1].columns == 2 && all[1].rows == 1)
        #expect(all.filter { classes[$0.row * grid.columns + $0.column] == .flat }.allSatisfy { $0.columns == 1 && $0.rows == 1 })
        // The last window of a row reaches the frame's edge.
        let lastRow = all.first { $0.row == 2 && $0.column == 1 }!
        #expect(lastRow.columns == 2 && lastRow.ownedX + lastRow.ownedWidth == grid.tiles[13].ownedX)
        // A run grows down when the whole row below matches: the hard tiles at column 3.
        let column = all.first { $0.row == 1 && $0.column == 3 }!
        #expect(column.columns == 1 && column.rows == 2 && column.ownedY + column.ownedHeight == 61)

        // A uniform frame is one window; a cap of one tile's window splits it back into tiles.
        let uniform = Array(repeating: TileClass.hard, count: grid.tiles.count)
        let one = grid.windows(classes: uniform, maxPixels: .max) { _ in true }
        #expect(one.count == 1 && one[0].width == 97 && one[0].height == 61 && one[0].ownedWidth == 97)
        #expect(grid.windows(classes: uniform, maxPixels: grid.inputWidth * grid.inputHeight) { _ in true }.count == 15)
        #expect(grid.windows(classes: uniform, maxPixels: .max) { _ in false }.count == 15)
        // A cap of two tiles' windows side by side: runs of two (and singles at the row's end).
        let cap = (2 * grid.coreWidth + 10) * grid.inputHeight
        let two = grid.windows(classes: uniform, maxPixels: cap) { _ in true }
        #expect(two.allSatisfy { ($0.width + 10) * ($0.height + 10) <= cap && $0.columns * $0.rows <= 2 })
        #expect(two.count > 7 && two.count < 15, "\(two.count)")
    }

    @Test("merged windows give the same bytes as tile-by-tile (fp32, routed family, every class), for fewer multiply-adds",
          arguments: [(97, 61, 24), (130, 70, 32)])
    func sameOutput(_ w: Int, _ h: Int, _ tile: Int) throws {
        let family = try Pictures.routedFamily()
        let frames = try (0..<3).map { try Pictures.frame(width: w, height: h, shift: 3 * $0) }
        var tiled = TileSettings(tile: tile, workers: 2, precision: .fp32, reuseThreshold: 0)
        tiled.windowBudget = nil
        var merged = tiled
        merged.windowBudget = WindowSize.defaultBudget
        let (a, sa) = try Pictures.run(family, tiled, frames)
        let (b, sb) = try Pictures.run(family, merged, frames)
        #expect(a.map(Pictures.lumaBytes) == b.map(Pictures.lumaBytes))
        #expect(sa.classesTotal.counts == sb.classesTotal.counts, "same routing")
        #expect(sb.classesTotal[.hard] + sb.classesTotal[.easy] + sb.classesTotal[.medium] > 0)
        #expect(sb.multiplyAdds < sa.multiplyAdds, "shared margins: \(sb.multiplyAdds) vs \(sa.multiplyAdds)")
    }

    @Test("16-bit output of merged windows is bit for bit the tile-by-tile output (fp32, one branch everywhere)")
    func sameOutputDeep() throws {
        let routing = #"{"version": 1, "statistic": "mean_abs_gradient", "thresholds": {"flat": -1, "easy": 1000, "medium": 2000}, "branches": {}}"#
        let hard = try ModelZoo.randomModel(Pictures.spec("plain-x2-c16n4"), seed: 9, name: "uniform", metadata: ["routing": routing])
        let family = try ModelFamily(hard: hard) { _ in nil }
        let frame = try Pictures.frame(width: 90, height: 50, format: AV_PIX_FMT_GRAY16LE)
        var tiled = TileSettings(tile: 16, workers: 1, precision: .fp32, reuseThreshold: nil)
        var merged = tiled
        merged.windowBudget = WindowSize.defaultBudget
        tiled.windowBudget = nil
        let (a, sa) = try Pictures.run(family, tiled, [frame])
        let (b, sb) = try Pictures.run(family, merged, [frame])
        #expect(sa.classesTotal[.easy] == sa.classesTotal.total, "\(sa.classesTotal.counts)")
        let x = Pictures.lumaBytes(a[0]), y = Pictures.lumaBytes(b[0])
        var worst = 0
        for i in stride(from: 0, to: x.count, by: 2) {
            worst = max(worst, abs((Int(x[i]) | Int(x[i + 1]) << 8) - (Int(y[i]) | Int(y[i + 1]) << 8)))
        }
        #expect(worst == 0, "largest difference \(worst) 16-bit steps")
        #expect(sb.multiplyAdds < sa.multiplyAdds * 0.6, "one window instead of 24 tiles with margins")
    }
}
