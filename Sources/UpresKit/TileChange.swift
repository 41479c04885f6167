import Foundation

/// Static-tile detection: a tile's LR window is kept from the last keyframe and compared with the
/// same window of each following frame.
extension TilePipeline {
    static func storeWindow(_ p: LumaPlane, _ buffer: inout [UInt8], _ x: Int, _ y: Int, _ w: Int, _ h: Int) {
        let rowBytes = w * p.bytesPerSample
        if buffer.count != rowBytes * h { buffer = [UInt8](repeating: 0, count: rowBytes * h) }
        buffer.withUnsafeMutableBufferPointer { b in
            for j in 0..<h {
                (b.baseAddress! + j * rowBytes).update(from: p.base + (y + j) * p.stride + x * p.bytesPerSample, count: rowBytes)
            }
        }
    }

    static func windowDifference(_ p: LumaPlane, _ buffer: [UInt8], _ x: Int, _ y: Int, _ w: Int, _ h: Int,
                                 limit: Int) -> Int {
        let rowBytes = w * p.bytesPerSample
        guard buffer.count == rowBytes * h else { return Int.max }
        return buffer.withUnsafeBufferPointer { b in
            var worst = 0
            for j in 0..<h {
                let a = p.base + (y + j) * p.stride + x * p.bytesPerSample
                let r = b.baseAddress! + j * rowBytes
                if limit == 0 {
                    if memcmp(a, r, rowBytes) != 0 { return 1 }
                    continue
                }
                for i in 0..<w {
                    let d: Int
                    if p.bytesPerSample == 1 {
                        d = abs(Int(a[i]) - Int(r[i]))
                    } else {
                        let u = Int(UInt16(littleEndian: UnsafeRawPointer(a).loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        let v = Int(UInt16(littleEndian: UnsafeRawPointer(r).loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        d = abs(u - v)
                    }
                    if d > worst { worst = d; if worst > limit { return worst } }
                }
            }
            return worst
        }
    }
}
