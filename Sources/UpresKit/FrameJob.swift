import Foundation
import UpresEngine
import UpresMedia

/// One frame in flight: its pictures and tile classes. `classes` is written by the submitting
/// thread before the frame's tiles are queued; which tiles are done is the pipeline's
/// `TileScheduler`'s, and `previous` is released (under the pipeline's lock) once it is complete.
final class FrameJob: @unchecked Sendable {
    let index: Int
    let source: Frame
    let base: Frame
    let output: Frame
    let sourcePlane: LumaPlane
    let basePlane: LumaPlane
    /// All three planes, for RGB networks.
    let sourceYUV: YUVPlanes?
    let baseYUV: YUVPlanes?
    var classes: [TileClass]
    /// The frame before, for static tiles; released when this one completes (bounded chain).
    private(set) var previous: FrameJob?

    init(index: Int, source: Frame, base: Frame, output: Frame, depth: Int, tiles: Int, previous: FrameJob?,
         chroma: (x: Int, y: Int)? = nil, leftSited: Bool = true) {
        self.index = index
        self.source = source
        self.base = base
        self.output = output
        sourcePlane = LumaPlane(frame: source, depth: depth)
        basePlane = LumaPlane(frame: base, depth: depth)
        if let c = chroma {
            func planes(_ f: Frame, _ y: LumaPlane) -> YUVPlanes {
                YUVPlanes(y: y, u: LumaPlane(frame: f, plane: 1, depth: depth, shift: c),
                          v: LumaPlane(frame: f, plane: 2, depth: depth, shift: c), shiftX: c.x, shiftY: c.y, leftSited: leftSited)
            }
            sourceYUV = planes(source, sourcePlane)
            baseYUV = planes(base, basePlane)
        } else {
            sourceYUV = nil
            baseYUV = nil
        }
        classes = Array(repeating: .hard, count: tiles)
        self.previous = previous
    }

    /// The frame is complete: its static tiles no longer need the frame before.
    func releasePrevious() { previous = nil }
}

extension LumaPlane {
    /// Plane 0 of a frame.
    init(frame: Frame, depth: Int) {
        self.init(base: frame.data(plane: 0)!, stride: frame.lineSize(plane: 0), width: Int(frame.width),
                  height: Int(frame.height), depth: depth)
    }

    /// A chroma plane of a frame (`shift`: log2 of the subsampling).
    init(frame: Frame, plane: Int, depth: Int, shift: (x: Int, y: Int)) {
        let w = (Int(frame.width) + (1 << shift.x) - 1) >> shift.x, h = (Int(frame.height) + (1 << shift.y) - 1) >> shift.y
        self.init(base: frame.data(plane: plane)!, stride: frame.lineSize(plane: plane), width: w, height: h, depth: depth)
    }
}
