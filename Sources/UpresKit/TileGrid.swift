/// How a frame is cut into tiles for the network: every tile has the same size (one engine
/// session per worker serves them all), the last tile of a row or column is aligned to the
/// frame's edge (so any size is covered, odd ones included), and each tile is run with a
/// context margin that is then cropped away. At the frame's borders the margin is mirrored
/// (`Edges.mirrored`, built-in models) or left out, so the network's own padding meets the
/// border as when it runs on the whole picture (`Edges.inside`, imported models: the output
/// is the reference implementation's, and a whole-frame window pays no margin at all).
///
/// Each tile *owns* the part of its core not owned by the tile before it, so the owned regions
/// partition the frame: writes from different workers never overlap and the result does not
/// depend on which tile finished first.
///
///     let grid = TileGrid(width: 321, height: 181, tile: 128, margin: 10)
///     grid.tiles.count      // 3 x 2
///     grid.inputWidth       // 148: core 128 + 2 x 10
public struct TileGrid: Sendable, Equatable {
    /// A tile: its core origin (LR pixels) and the region of the core it owns.
    public struct Tile: Sendable, Equatable {
        public var index: Int
        public var column: Int
        public var row: Int
        /// Core origin in the frame; the core is `grid.coreWidth` x `grid.coreHeight`.
        public var x: Int
        public var y: Int
        /// Owned region, in frame coordinates.
        public var ownedX: Int
        public var ownedY: Int
        public var ownedWidth: Int
        public var ownedHeight: Int
    }

    /// What a window reads beyond the frame's borders.
    public enum Edges: Sendable, Equatable {
        /// The margin everywhere, mirrored outside the frame (`mirror`).
        case mirrored
        /// Windows stay inside the frame: no margin where it would leave the frame.
        case inside
    }

    public let width: Int
    public let height: Int
    public let edges: Edges
    /// Requested core side.
    public let tile: Int
    public let margin: Int
    /// Core size actually used: the frame split evenly into ceil(size / tile) tiles per axis,
    /// so no tile is mostly overlap (320 px at tile 128: 3 tiles of 107, not 128 + 128 + 64
    /// with the last one overlapping by 64).
    public let coreWidth: Int
    public let coreHeight: Int
    public let columns: Int
    public let rows: Int
    public let tiles: [Tile]

    /// Input size of one tile's window (the largest one with `Edges.inside`).
    public var inputWidth: Int { edges == .mirrored ? coreWidth + 2 * margin : min(coreWidth + 2 * margin, width) }
    public var inputHeight: Int { edges == .mirrored ? coreHeight + 2 * margin : min(coreHeight + 2 * margin, height) }

    /// The input rectangle the network reads for a core at (`x`, `y`) of `w` x `h`: the core
    /// and its margin, mirrored outside the frame or clipped to it (`edges`).
    public func input(x: Int, y: Int, w: Int, h: Int) -> (x: Int, y: Int, w: Int, h: Int) {
        let m = margin
        guard edges == .inside else { return (x - m, y - m, w + 2 * m, h + 2 * m) }
        let x0 = max(0, x - m), y0 = max(0, y - m)
        return (x0, y0, min(width, x + w + m) - x0, min(height, y + h + m) - y0)
    }

    /// - Parameter align: core starts are multiples of this (2 keeps RGB tiles of 4:2:0 video on
    ///   the chroma grid); the last tile then ends at most `align - 1` pixels short of the edge,
    ///   which its owned region still covers.
    public init(width: Int, height: Int, tile: Int, margin: Int, align: Int = 1, edges: Edges = .mirrored) {
        precondition(width > 0 && height > 0 && tile > 0 && margin >= 0, "bad tile grid \(width)x\(height) tile \(tile) margin \(margin)")
        self.edges = edges
        self.width = width
        self.height = height
        self.tile = tile
        self.margin = margin
        coreWidth = min(width, TileGrid.roundUp(TileGrid.evenCore(size: width, tile: tile), align))
        coreHeight = min(height, TileGrid.roundUp(TileGrid.evenCore(size: height, tile: tile), align))
        let xs = TileGrid.starts(size: width, core: coreWidth, align: align)
        let ys = TileGrid.starts(size: height, core: coreHeight, align: align)
        columns = xs.count
        rows = ys.count
        var list: [Tile] = []
        list.reserveCapacity(xs.count * ys.count)
        for (r, y) in ys.enumerated() {
            let oy = r == 0 ? 0 : ys[r - 1] + coreHeight
            for (c, x) in xs.enumerated() {
                let ox = c == 0 ? 0 : xs[c - 1] + coreWidth
                let ex = c == xs.count - 1 ? width : x + coreWidth, ey = r == ys.count - 1 ? height : y + coreHeight
                list.append(Tile(index: list.count, column: c, row: r, x: x, y: y, ownedX: ox, ownedY: oy,
                                 ownedWidth: ex - ox, ownedHeight: ey - oy))
            }
        }
        tiles = list
    }

    static func evenCore(size: Int, tile: Int) -> Int {
        let n = (size + tile - 1) / tile
        return (size + n - 1) / n
    }

    /// Core starts along one axis: 0, core, 2 core, ... and a last one flush with the edge.
    static func starts(size: Int, core: Int, align: Int = 1) -> [Int] {
        var s: [Int] = []
        var p = 0
        while p + core < size { s.append(p); p += core }
        let last = (size - core) / align * align
        if s.last.map({ last > $0 }) ?? true { s.append(last) }
        return s
    }

    static func roundUp(_ v: Int, _ a: Int) -> Int { (v + a - 1) / a * a }

    /// The frame coordinate a (possibly out-of-frame) coordinate mirrors to: reflection about
    /// the edge pixels without repeating them (`np.pad(mode: "reflect")`), periodic for margins
    /// wider than the frame.
    @inline(__always)
    public static func mirror(_ i: Int, _ size: Int) -> Int {
        if i >= 0 && i < size { return i }
        if size == 1 { return 0 }
        let period = 2 * (size - 1)
        var m = i % period
        if m < 0 { m += period }
        return m < size ? m : period - m
    }
}
