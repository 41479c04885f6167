import CFFmpeg
import Testing
import UpresMedia
import UpresEngine
@testable import UpresKit

/// Network output becomes code values without a trap whatever the floats are: NaN is stored as
/// 0, infinities clamp, and the writers report that the tile was not finite.
@Suite("Non-finite network output")
struct NonFiniteOutputTests {
    static let hostile: [Float] = [.nan, .infinity, -.infinity, 0.5, 3e38, -3e38, 1, 0, -.nan, .signalingNaN]

    @Test("luma: NaN is 0, infinities clamp, and the write reports it", arguments: [8, 10, 16])
    func luma(_ depth: Int) {
        let b = depth > 8 ? 2 : 1
        let n = Self.hostile.count
        var plane = [UInt8](repeating: 0xAA, count: n * b)
        let max = (1 << depth) - 1
        let ok = plane.withUnsafeMutableBufferPointer { p in
            Self.hostile.withUnsafeBufferPointer { src in
                LumaPlane(base: p.baseAddress!, stride: n * b, width: n, height: 1, depth: depth)
                    .writeRegion(x: 0, y: 0, w: n, h: 1, from: src.baseAddress!, srcStride: n)
            }
        }
        #expect(!ok)
        let values = (0..<n).map { b == 1 ? Int(plane[$0]) : Int(plane[2 * $0]) | Int(plane[2 * $0 + 1]) << 8 }
        #expect(values == [0, max, 0, (max + 1) / 2, max, 0, max, 0, 0, 0], "\(values)")

        // Finite values, however large, are clamped and reported as fine.
        let finite: [Float] = [3e38, -3e38, 0.25, 2, -1]
        let fine = plane.withUnsafeMutableBufferPointer { p in
            finite.withUnsafeBufferPointer { src in
                LumaPlane(base: p.baseAddress!, stride: n * b, width: n, height: 1, depth: depth)
                    .writeRegion(x: 0, y: 0, w: finite.count, h: 1, from: src.baseAddress!, srcStride: finite.count)
            }
        }
        #expect(fine)
    }

    @Test("RGB: a NaN in any plane is caught, chroma and luma stay valid", arguments: [0, 1, 2])
    func rgb(_ plane: Int) {
        let pic = RGBTilesTests.Picture(w: 8, h: 4, depth: 8, shiftX: 1, shiftY: 1)
        let c = YUVConversion(weights: LumaWeights(matrix: AVCOL_SPC_BT709), fullRange: false, depth: 8)
        var rgb = [Float](repeating: 0.5, count: 3 * 8 * 4)
        rgb[plane * 32 + 9] = .nan
        rgb[plane * 32 + 20] = .infinity
        let ok = rgb.withUnsafeBufferPointer {
            RGBTiles.write(pic.planes(), c, x: 0, y: 0, w: 8, h: 4, from: $0.baseAddress!, srcStride: 8, planeStride: 32)
        }
        #expect(!ok)
        #expect(pic.y.allSatisfy { (16...235).contains(Int($0)) } && pic.u.allSatisfy { (16...240).contains(Int($0)) })
        rgb[plane * 32 + 9] = 0.5
        rgb[plane * 32 + 20] = 0.5
        #expect(rgb.withUnsafeBufferPointer {
            RGBTiles.write(pic.planes(), c, x: 0, y: 0, w: 8, h: 4, from: $0.baseAddress!, srcStride: 8, planeStride: 32)
        })
    }

    @Test("the error says which values, where, and counts frames across segments")
    func error() {
        let values: [Float] = [0, .nan, 1, .infinity, 0, 0]
        values.withUnsafeBufferPointer { p in
            let s = p.baseAddress!
            #expect(NonFiniteOutputError.kind(s, w: 2, h: 1, stride: 3) == "NaN")
            #expect(NonFiniteOutputError.kind(s + 2, w: 2, h: 1, stride: 3) == "infinity")
            #expect(NonFiniteOutputError.kind(s, w: 2, h: 2, stride: 3) == "NaN and infinity")
            #expect(NonFiniteOutputError.kind(s, w: 1, h: 1, stride: 3, planes: 2, planeStride: 3) == "infinity")
        }
        let e = NonFiniteOutputError(model: "/m/span.param", frame: 3, x: 128, y: 0, kind: "NaN", precision: .fp32)
        #expect(e.description.hasPrefix("model /m/span.param produced non-finite values (NaN) in frame 3, tile at (128,0)"))
        #expect(!e.description.contains("bf16"))
        #expect(e.counting(from: 100).frame == 103)
        let b = NonFiniteOutputError(model: "m", frame: 1, x: 0, y: 0, kind: "NaN", precision: .bf16)
        #expect(b.description.contains("--precision fp32"))
    }
}
