/// A borrowed view of one 8- or 16-bit (little-endian) picture plane: what tiles are read
/// from and written to. The owner (a `Frame`) must outlive the view.
public struct LumaPlane: @unchecked Sendable {
    public let base: UnsafeMutablePointer<UInt8>
    /// Bytes per row.
    public let stride: Int
    public let width: Int
    public let height: Int
    /// 1 (8-bit) or 2 (9- to 16-bit).
    public let bytesPerSample: Int
    /// Largest code value, (1 << depth) - 1.
    public let maxValue: Float

    public init(base: UnsafeMutablePointer<UInt8>, stride: Int, width: Int, height: Int, depth: Int) {
        precondition(depth >= 1 && depth <= 16, "bit depth \(depth)")
        self.base = base
        self.stride = stride
        self.width = width
        self.height = height
        bytesPerSample = depth > 8 ? 2 : 1
        maxValue = Float((1 << depth) - 1)
    }

    @inline(__always)
    func sample(_ x: Int, _ y: Int) -> Int {
        let row = base + y * stride
        if bytesPerSample == 1 { return Int(row[x]) }
        return Int(UInt16(littleEndian: UnsafeRawPointer(row).loadUnaligned(fromByteOffset: 2 * x, as: UInt16.self)))
    }

    /// Fills `dst` (row-major `w` x `h` floats in [0, 1]) with the window whose top-left corner
    /// is (`x0`, `y0`), mirroring coordinates outside the plane (`TileGrid.mirror`).
    public func readWindow(x0: Int, y0: Int, w: Int, h: Int, into dst: UnsafeMutablePointer<Float>) {
        let scale = 1 / maxValue
        var columns = [Int](repeating: 0, count: w)
        for i in 0..<w { columns[i] = TileGrid.mirror(x0 + i, width) }
        let inside = x0 >= 0 && x0 + w <= width
        columns.withUnsafeBufferPointer { cols in
            for j in 0..<h {
                let row = base + TileGrid.mirror(y0 + j, height) * stride
                let out = dst + j * w
                if bytesPerSample == 1 {
                    if inside {
                        let r = row + x0
                        for i in 0..<w { out[i] = Float(r[i]) * scale }
                    } else {
                        for i in 0..<w { out[i] = Float(row[cols[i]]) * scale }
                    }
                } else {
                    let r16 = UnsafeRawPointer(row).assumingMemoryBound(to: UInt16.self)
                    for i in 0..<w { out[i] = Float(UInt16(littleEndian: r16[cols[i]])) * scale }
                }
            }
        }
    }

    /// Writes the `w` x `h` region at (`x`, `y`) from `src` (row-major floats in [0, 1],
    /// `srcStride` floats per row, already offset to the region's first pixel), rounded and clamped.
    /// NaN is stored as 0 and infinities clamp; returns false when a source value was NaN or
    /// infinite (a broken network: the caller stops the job).
    public func writeRegion(x: Int, y: Int, w: Int, h: Int, from src: UnsafePointer<Float>, srcStride: Int) -> Bool {
        let m = maxValue
        var bad: UInt32 = 0
        for j in 0..<h {
            let row = base + (y + j) * stride
            let s = src + j * srcStride
            if bytesPerSample == 1 {
                let r = row + x
                for i in 0..<w {
                    bad |= CodeValue.nonFinite(s[i])
                    r[i] = UInt8(CodeValue.clamp(s[i] * m + 0.5, m))
                }
            } else {
                let r16 = UnsafeMutableRawPointer(row).assumingMemoryBound(to: UInt16.self) + x
                for i in 0..<w {
                    bad |= CodeValue.nonFinite(s[i])
                    r16[i] = UInt16(CodeValue.clamp(s[i] * m + 0.5, m)).littleEndian
                }
            }
        }
        return bad == 0
    }

    /// Copies a region from another plane of the same size and depth.
    public func copyRegion(from other: LumaPlane, x: Int, y: Int, w: Int, h: Int) {
        let bytes = w * bytesPerSample
        for j in 0..<h {
            (base + (y + j) * stride + x * bytesPerSample)
                .update(from: other.base + (y + j) * other.stride + x * bytesPerSample, count: bytes)
        }
    }

    /// Copies the whole plane's samples from another plane of the same size and depth.
    public func copyAll(from other: LumaPlane) {
        copyRegion(from: other, x: 0, y: 0, w: width, h: height)
    }

    /// Largest absolute difference between this plane and `other` over a region (code values),
    /// stopping early once it exceeds `limit`.
    public func maxDifference(_ other: LumaPlane, x: Int, y: Int, w: Int, h: Int, limit: Int) -> Int {
        var worst = 0
        for j in 0..<h {
            let a = base + (y + j) * stride + x * bytesPerSample
            let b = other.base + (y + j) * other.stride + x * bytesPerSample
            if limit == 0 {
                if memcmp(a, b, w * bytesPerSample) != 0 { return 1 }
                continue
            }
            for i in 0..<w {
                let d = abs(sample(x + i, y + j) - other.sample(x + i, y + j))
                if d > worst { worst = d; if worst > limit { return worst } }
            }
        }
        return worst
    }

    /// Mean absolute difference of horizontal and vertical neighbours inside a region, in 8-bit
    /// units (16-bit values are scaled by 255 / maxValue): the tile classifier's statistic.
    /// (Sum of |p[y][x+1]-p[y][x]| over horizontal pairs + sum of |p[y+1][x]-p[y][x]| over vertical
    /// pairs) / (w * h); same definition as training/calibrate.py.
    public func meanAbsGradient(x: Int, y: Int, w: Int, h: Int) -> Double {
        var sum = 0
        if bytesPerSample == 1 {
            for j in 0..<h {
                let r = base + (y + j) * stride + x
                let below = j + 1 < h ? r + stride : nil
                for i in 0..<w {
                    let v = Int(r[i])
                    if i + 1 < w { sum += abs(Int(r[i + 1]) - v) }
                    if let below { sum += abs(Int(below[i]) - v) }
                }
            }
            return Double(sum) / Double(w * h)
        }
        for j in 0..<h {
            for i in 0..<w {
                let v = sample(x + i, y + j)
                if i + 1 < w { sum += abs(sample(x + i + 1, y + j) - v) }
                if j + 1 < h { sum += abs(sample(x + i, y + j + 1) - v) }
            }
        }
        return Double(sum) * 255 / Double(maxValue) / Double(w * h)
    }
}

import Foundation
