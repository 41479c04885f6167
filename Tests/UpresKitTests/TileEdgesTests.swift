import Foundation
import Testing
import CFFmpeg
@testable import UpresKit
import UpresEngine
import UpresMedia

@Suite("Window edges: mirrored margins or windows inside the frame")
struct TileEdgesTests {
    @Test("inside the frame, a window loses its margin only where it would leave the frame")
    func insideRectangles() {
        let grid = TileGrid(width: 97, height: 61, tile: 24, margin: 5, edges: .inside)
        let mirrored = TileGrid(width: 97, height: 61, tile: 24, margin: 5)
        #expect(grid.tiles == mirrored.tiles)
        let first = grid.window(column: 0, row: 0)
        #expect(grid.input(of: first) == (0, 0, first.width + 5, first.height + 5))
        #expect(mirrored.input(of: first) == (-5, -5, first.width + 10, first.height + 10))
        let inner = grid.window(column: 1, row: 1)
        #expect(grid.input(of: inner) == mirrored.input(of: inner))
        let last = grid.window(column: grid.columns - 1, row: grid.rows - 1)
        let r = grid.input(of: last)
        #expect(r.x + r.w == 97 && r.y + r.h == 61 && r.x == last.x - 5 && r.y == last.y - 5)
        // Every window stays in the frame.
        for c in 0..<grid.columns {
            for row in 0..<grid.rows {
                let i = grid.input(of: grid.window(column: c, row: row))
                #expect(i.x >= 0 && i.y >= 0 && i.x + i.w <= 97 && i.y + i.h <= 61)
            }
        }
    }

    @Test("a whole-frame window inside the frame is the frame: no margin is paid")
    func wholeFrame() {
        let grid = TileGrid(width: 640, height: 360, tile: 640, margin: 21, edges: .inside)
        #expect(grid.tiles.count == 1)
        #expect(grid.input(of: grid.window(column: 0, row: 0)) == (0, 0, 640, 360))
        #expect(grid.inputWidth == 640 && grid.inputHeight == 360)
        let merged = TileGrid(width: 640, height: 360, tile: 128, margin: 21, edges: .inside)
            .windows(classes: Array(repeating: .hard, count: 15), maxPixels: 640 * 360, merge: { _ in true })
        #expect(merged.count == 1, "the merged whole frame fits in exactly its own pixels")
    }

    @Test("imported networks keep windows inside the frame; built-in ones mirror")
    func familyEdges() throws {
        let param = NCNNFixtures.url("border-x2.param")
        let imported = try ModelFamily(hard: try Model(ncnnParam: param)) { _ in nil }
        #expect(imported.edges == .inside)
        let builtIn = try ModelFamily(hard: try EmbeddedModels.model(named: "upres-x2")!) { try EmbeddedModels.model(named: $0) }
        #expect(builtIn.edges == .mirrored)
    }

    @Test("an imported network tiled inside the frame equals its whole-frame run (4:2:0, within one 8-bit step)",
          arguments: [(64, 36, 16), (90, 50, 24)])
    func importedTiledEqualsWhole(_ w: Int, _ h: Int, _ tile: Int) throws {
        let family = try ModelFamily(hard: try Model(ncnnParam: NCNNFixtures.url("border-x2.param"))) { _ in nil }
        #expect(family.exactTiling && family.margin > 0)
        let frame = try Pictures.frame(width: w, height: h)
        let settings = TileSettings(tile: tile, workers: 2, precision: .fp32, reuseThreshold: nil)
        var whole = settings
        whole.tile = 4096
        let (tiled, _) = try Pictures.run(family, settings, [frame])
        let (one, _) = try Pictures.run(family, whole, [frame])
        let a = tiled[0], b = one[0]
        for plane in 0..<3 {
            let rows = plane == 0 ? Int(a.height) : (Int(a.height) + 1) / 2
            let cols = plane == 0 ? Int(a.width) : (Int(a.width) + 1) / 2
            var worst = 0
            for y in 0..<rows {
                for x in 0..<cols {
                    worst = max(worst, abs(Int(a.data(plane: plane)![y * a.lineSize(plane: plane) + x])
                                       - Int(b.data(plane: plane)![y * b.lineSize(plane: plane) + x])))
                }
            }
            #expect(worst <= 1, "plane \(plane): max difference \(worst)")
        }
    }
}

enum NCNNFixtures {
    static func url(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("UpresEngineTests/NCNNFixtures/\(name)")
    }
}

/// One tile geometry for the engine and for training (`training/upres_train/routing.py`, whose
/// tests read the same file): routing is calibrated on the grid the engine runs.
@Suite("Tile grid golden cases shared with training")
struct TileGridGoldenTests {
    struct Case: Decodable {
        var width: Int
        var height: Int
        var tile: Int
        var align: Int
        var core: [Int]
        var tiles: [[Int]]
    }
    struct Golden: Decodable { var cases: [Case] }

    @Test("TileGrid gives the golden cores, starts and owned regions")
    func golden() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/tile-grids.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        #expect(golden.cases.count >= 10)
        for c in golden.cases {
            let grid = TileGrid(width: c.width, height: c.height, tile: c.tile, margin: 7, align: c.align)
            #expect([grid.coreWidth, grid.coreHeight] == c.core, "\(c.width)x\(c.height) tile \(c.tile)")
            #expect(grid.tiles.map { [$0.x, $0.y, $0.ownedX, $0.ownedY, $0.ownedWidth, $0.ownedHeight] } == c.tiles,
                    "\(c.width)x\(c.height) tile \(c.tile) align \(c.align)")
        }
    }
}
