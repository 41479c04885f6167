import CFFmpeg
import Testing
import UpresMedia
@testable import UpresKit

/// RGBTiles: Y'CbCr windows as planar RGB for RGB networks, and back.
@Suite("RGB tiles for RGB networks (ncnn models)")
struct RGBTilesTests {
    /// Owns three planes of a w x h picture.
    final class Picture {
        let w, h, depth, shiftX, shiftY: Int
        var y, u, v: [UInt8]
        init(w: Int, h: Int, depth: Int, shiftX: Int, shiftY: Int) {
            self.w = w; self.h = h; self.depth = depth; self.shiftX = shiftX; self.shiftY = shiftY
            let b = depth > 8 ? 2 : 1
            y = [UInt8](repeating: 0, count: w * h * b)
            u = [UInt8](repeating: 0, count: ((w + (1 << shiftX) - 1) >> shiftX) * ((h + (1 << shiftY) - 1) >> shiftY) * b)
            v = u
        }
        var cw: Int { (w + (1 << shiftX) - 1) >> shiftX }
        var ch: Int { (h + (1 << shiftY) - 1) >> shiftY }

        func planes(leftSited: Bool = true) -> YUVPlanes {
            let b = depth > 8 ? 2 : 1
            func plane(_ a: inout [UInt8], _ pw: Int, _ ph: Int) -> LumaPlane {
                a.withUnsafeMutableBufferPointer { LumaPlane(base: $0.baseAddress!, stride: pw * b, width: pw, height: ph, depth: depth) }
            }
            return YUVPlanes(y: plane(&y, w, h), u: plane(&u, cw, ch), v: plane(&v, cw, ch),
                             shiftX: shiftX, shiftY: shiftY, leftSited: leftSited)
        }

        func set(_ a: inout [UInt8], _ stride: Int, _ x: Int, _ y: Int, _ value: Int) {
            if depth > 8 { a[2 * (y * stride + x)] = UInt8(value & 255); a[2 * (y * stride + x) + 1] = UInt8(value >> 8) }
            else { a[y * stride + x] = UInt8(value) }
        }
        func get(_ a: [UInt8], _ stride: Int, _ x: Int, _ y: Int) -> Int {
            depth > 8 ? Int(a[2 * (y * stride + x)]) | Int(a[2 * (y * stride + x) + 1]) << 8 : Int(a[y * stride + x])
        }

        /// Smooth content: gradients in every plane.
        func fillSmooth() {
            let unit = 1 << (depth - 8)
            for j in 0..<h { for i in 0..<w { set(&y, w, i, j, (40 + 3 * i + 2 * j) * unit) } }
            for j in 0..<ch { for i in 0..<cw {
                set(&u, cw, i, j, (110 + i + j) * unit)
                set(&v, cw, i, j, (150 - i + 2 * j) * unit)
            } }
        }
    }

    @Test("known colours: BT.709 limited white, black, red; BT.601 full-range grey")
    func knownColours() {
        let c = YUVConversion(weights: LumaWeights(matrix: AVCOL_SPC_BT709), fullRange: false, depth: 8)
        func close(_ a: (Float, Float, Float), _ b: (Float, Float, Float), _ tol: Float) -> Bool {
            abs(a.0 - b.0) <= tol && abs(a.1 - b.1) <= tol && abs(a.2 - b.2) <= tol
        }
        #expect(close(c.rgb(235, 128, 128), (1, 1, 1), 1e-6))
        #expect(close(c.rgb(16, 128, 128), (0, 0, 0), 1e-6))
        #expect(close(c.rgb(63, 102, 240), (1, 0, 0), 0.01))
        #expect(close(c.yuv(1, 0, 0), (62.56, 102.34, 240), 0.01))   // 16 + 219 Kr, 128 - 112 Kr / (1 - Kb), 240
        let f = YUVConversion(weights: LumaWeights(matrix: AVCOL_SPC_SMPTE170M), fullRange: true, depth: 10)
        #expect(close(f.rgb(511.5, 512, 512), (0.5, 0.5, 0.5), 1e-6))
        // The matrix matters: the same code values are a different red under BT.601.
        #expect(!close(YUVConversion(weights: LumaWeights(matrix: AVCOL_SPC_SMPTE170M), fullRange: false, depth: 8).rgb(63, 102, 240), (1, 0, 0), 0.01))
    }

    struct Layout: Sendable, CustomStringConvertible {
        var depth, sx, sy: Int
        var left: Bool
        var description: String { "\(depth)-bit, chroma shift \(sx),\(sy), \(left ? "left" : "centre") sited" }
    }

    @Test("read then write gives the picture back", arguments: [
        Layout(depth: 8, sx: 1, sy: 1, left: true), Layout(depth: 8, sx: 1, sy: 0, left: false),
        Layout(depth: 10, sx: 1, sy: 1, left: true), Layout(depth: 10, sx: 0, sy: 0, left: true),
    ])
    func roundTrip(_ layout: Layout) {
        let (depth, sx, sy, left) = (layout.depth, layout.sx, layout.sy, layout.left)
        let src = Picture(w: 24, h: 18, depth: depth, shiftX: sx, shiftY: sy)
        src.fillSmooth()
        let dst = Picture(w: 24, h: 18, depth: depth, shiftX: sx, shiftY: sy)
        let c = YUVConversion(weights: LumaWeights(matrix: AVCOL_SPC_BT709), fullRange: false, depth: depth)
        var rgb = [Float](repeating: 0, count: 3 * 24 * 18)
        rgb.withUnsafeMutableBufferPointer { RGBTiles.read(src.planes(leftSited: left), c, x0: 0, y0: 0, w: 24, h: 18, into: $0.baseAddress!) }
        #expect(rgb.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Write in two regions, as tiles would.
        rgb.withUnsafeBufferPointer { p in
            #expect(RGBTiles.write(dst.planes(leftSited: left), c, x: 0, y: 0, w: 12, h: 18, from: p.baseAddress!, srcStride: 24,
                                   planeStride: 24 * 18))
            #expect(RGBTiles.write(dst.planes(leftSited: left), c, x: 12, y: 0, w: 12, h: 18, from: p.baseAddress! + 12, srcStride: 24,
                                   planeStride: 24 * 18))
        }
        let unit = 1 << (depth - 8)
        var lumaErr = 0, chromaErr = 0
        for j in 0..<18 { for i in 0..<24 { lumaErr = max(lumaErr, abs(src.get(src.y, 24, i, j) - dst.get(dst.y, 24, i, j))) } }
        // Interior chroma (the edges see mirrored neighbours in the bilinear read).
        for j in 1..<(src.ch - 1) { for i in 1..<(src.cw - 1) {
            chromaErr = max(chromaErr, abs(src.get(src.u, src.cw, i, j) - dst.get(dst.u, dst.cw, i, j)),
                            abs(src.get(src.v, src.cw, i, j) - dst.get(dst.v, dst.cw, i, j)))
        } }
        #expect(lumaErr <= unit, "luma off by \(lumaErr)")
        #expect(chromaErr <= 2 * unit, "chroma off by \(chromaErr)")
    }

    @Test("windows outside the picture are mirrored like luma tiles")
    func mirrored() {
        let p = Picture(w: 16, h: 12, depth: 8, shiftX: 1, shiftY: 1)
        p.fillSmooth()
        let c = YUVConversion(weights: LumaWeights(matrix: AVCOL_SPC_BT709), fullRange: false, depth: 8)
        var outside = [Float](repeating: 0, count: 3 * 6 * 5), inside = outside
        outside.withUnsafeMutableBufferPointer { RGBTiles.read(p.planes(), c, x0: -3, y0: -2, w: 6, h: 5, into: $0.baseAddress!) }
        inside.withUnsafeMutableBufferPointer { RGBTiles.read(p.planes(), c, x0: 0, y0: 0, w: 6, h: 5, into: $0.baseAddress!) }
        // Luma-driven: window pixel (-3, -2) mirrors (3, 2).
        let k = 0, kIn = 2 * 6 + 3
        #expect(abs(outside[k] - inside[kIn]) < 0.02 && abs(outside[60 + k] - inside[60 + kIn]) < 0.02)
    }
}
