import UpresMedia

/// Y'CbCr <-> R'G'B' for RGB networks, with the matrix, range and bit depth always stated (the
/// stack notes' warning: a converter left on BT.601 defaults shifts the colours of HD video).
/// Coefficients from ITU-R BT.601, BT.709 and BT.2020 (non-constant luminance); limited range
/// is Y 16-235, Cb/Cr 16-240 at 8 bits, scaled by 2^(depth - 8).
public struct YUVConversion: Sendable, Equatable {
    public let kr: Float
    public let kb: Float
    public let fullRange: Bool
    public let depth: Int
    let yOffset: Float, yScale: Float, cOffset: Float, cScale: Float

    /// `weights`: the YUV matrix's (`LumaWeights(matrix: colour.effectiveMatrix(height:))`).
    public init(weights: LumaWeights, fullRange: Bool, depth: Int) {
        precondition(depth >= 8 && depth <= 16, "bit depth \(depth)")
        (kr, kb) = (weights.kr, weights.kb)
        self.fullRange = fullRange
        self.depth = depth
        let max = Float((1 << depth) - 1), unit = Float(1 << (depth - 8))
        if fullRange {
            (yOffset, yScale, cOffset, cScale) = (0, max, Float(1 << (depth - 1)), max)
        } else {
            (yOffset, yScale, cOffset, cScale) = (16 * unit, 219 * unit, 128 * unit, 224 * unit)
        }
    }

    /// Code values -> R', G', B' (nominally [0, 1], not clamped).
    @inline(__always) public func rgb(_ y: Float, _ u: Float, _ v: Float) -> (Float, Float, Float) {
        let l = (y - yOffset) / yScale, pb = (u - cOffset) / cScale, pr = (v - cOffset) / cScale
        let r = l + 2 * (1 - kr) * pr, b = l + 2 * (1 - kb) * pb
        return (r, (l - kr * r - kb * b) / (1 - kr - kb), b)
    }

    /// R', G', B' in [0, 1] -> code values (not rounded).
    @inline(__always) public func yuv(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let l = kr * r + (1 - kr - kb) * g + kb * b
        return (yOffset + yScale * l, cOffset + cScale * (b - l) / (2 * (1 - kb)), cOffset + cScale * (r - l) / (2 * (1 - kr)))
    }
}

/// The three planes of a Y'CbCr picture and how its chroma is subsampled and sited.
public struct YUVPlanes: @unchecked Sendable {
    public let y: LumaPlane, u: LumaPlane, v: LumaPlane
    /// log2 of the chroma subsampling: (1, 1) for 4:2:0, (1, 0) for 4:2:2, (0, 0) for 4:4:4.
    public let shiftX: Int, shiftY: Int
    /// Chroma sited on the left luma column (MPEG-2, H.264 default) rather than between columns (JPEG).
    public let leftSited: Bool

    public init(y: LumaPlane, u: LumaPlane, v: LumaPlane, shiftX: Int, shiftY: Int, leftSited: Bool = true) {
        precondition(u.width == (y.width + (1 << shiftX) - 1) >> shiftX && u.height == (y.height + (1 << shiftY) - 1) >> shiftY,
                     "chroma planes do not match the subsampling")
        self.y = y; self.u = u; self.v = v
        self.shiftX = shiftX; self.shiftY = shiftY
        self.leftSited = leftSited
    }
}

/// Windows of a Y'CbCr frame as planar RGB floats for an RGB network (ncnn's Real-ESRGAN, SPAN,
/// waifu2x: `Model.info.metadata["input_layout"]`), and the network's RGB output back into
/// Y'CbCr planes. Meant for the tile pipeline:
///
///     RGBTiles.read(source, conversion, x0: -m, y0: -m, w: t + 2 * m, h: t + 2 * m, into: session.inputPointer)
///     try session.execute()
///     RGBTiles.write(output, conversion, x: s * x0, y: s * y0, w: s * t, h: s * t,
///                    from: session.outputPointer + s * m * (rowFloats + 1), srcStride: rowFloats, planeStride: planeFloats)
public enum RGBTiles {
    /// Fills `dst` with three w x h planes (R, G, B, row-major, clamped to [0, 1]) of the window whose
    /// top-left luma pixel is (x0, y0), mirroring coordinates outside the picture (`TileGrid.mirror`).
    /// Chroma is interpolated bilinearly at each luma pixel from its siting.
    public static func read(_ p: YUVPlanes, _ c: YUVConversion, x0: Int, y0: Int, w: Int, h: Int,
                            into dst: UnsafeMutablePointer<Float>) {
        let fx = Float(1 << p.shiftX), fy = Float(1 << p.shiftY)
        let offX = p.leftSited ? 0 : (fx - 1) / 2, offY = (fy - 1) / 2
        // Per column: luma x, the two chroma columns and the weight of the second.
        let cols = (0..<w).map { i -> (Int, Int, Int, Float) in
            let x = TileGrid.mirror(x0 + i, p.y.width)
            let cx = (Float(x) - offX) / fx, c0 = Int(cx.rounded(.down))
            return (x, TileGrid.mirror(c0, p.u.width), TileGrid.mirror(c0 + 1, p.u.width), cx - Float(c0))
        }
        let plane = w * h
        for j in 0..<h {
            let y = TileGrid.mirror(y0 + j, p.y.height)
            let cy = (Float(y) - offY) / fy, r0 = Int(cy.rounded(.down)), wy = cy - Float(r0)
            let ra = TileGrid.mirror(r0, p.u.height), rb = TileGrid.mirror(r0 + 1, p.u.height)
            for (i, (x, ca, cb, wx)) in cols.enumerated() {
                func chroma(_ q: LumaPlane) -> Float {
                    let top = Float(q.sample(ca, ra)) * (1 - wx) + Float(q.sample(cb, ra)) * wx
                    let bottom = Float(q.sample(ca, rb)) * (1 - wx) + Float(q.sample(cb, rb)) * wx
                    return top * (1 - wy) + bottom * wy
                }
                let (r, g, b) = c.rgb(Float(p.y.sample(x, y)), chroma(p.u), chroma(p.v))
                let k = j * w + i
                dst[k] = min(max(r, 0), 1)
                dst[plane + k] = min(max(g, 0), 1)
                dst[2 * plane + k] = min(max(b, 0), 1)
            }
        }
    }

    /// Writes the w x h region at luma (x, y) from three RGB planes (`srcStride` floats per row,
    /// `planeStride` floats between planes, `src` at the region's first pixel; clamped to [0, 1]):
    /// luma per pixel, each chroma sample the mean over its luma block. x, y, w, h must be
    /// multiples of the subsampling (tile regions are), except at the picture's right and bottom edges.
    /// NaN is stored as 0 and infinities clamp; returns false when a source value was NaN or
    /// infinite (a broken network: the caller stops the job).
    public static func write(_ p: YUVPlanes, _ c: YUVConversion, x: Int, y: Int, w: Int, h: Int,
                             from src: UnsafePointer<Float>, srcStride: Int, planeStride: Int) -> Bool {
        precondition(x % (1 << p.shiftX) == 0 && y % (1 << p.shiftY) == 0, "region not aligned to the chroma grid")
        let m = Float((1 << c.depth) - 1)
        func store(_ q: LumaPlane, _ px: Int, _ py: Int, _ value: Float) {
            let v = CodeValue.clamp(value + 0.5, m)
            let row = q.base + py * q.stride
            if q.bytesPerSample == 1 { row[px] = UInt8(v) }
            else { UnsafeMutableRawPointer(row).storeBytes(of: UInt16(v).littleEndian, toByteOffset: 2 * px, as: UInt16.self) }
        }
        var bad: UInt32 = 0
        @inline(__always) func pixel(_ i: Int, _ j: Int) -> (Float, Float, Float) {
            let k = j * srcStride + i
            return c.yuv(CodeValue.clamp(src[k], 1), CodeValue.clamp(src[planeStride + k], 1), CodeValue.clamp(src[2 * planeStride + k], 1))
        }
        for j in 0..<h {
            for i in 0..<w {
                let k = j * srcStride + i
                bad |= CodeValue.nonFinite(src[k]) | CodeValue.nonFinite(src[planeStride + k]) | CodeValue.nonFinite(src[2 * planeStride + k])
                store(p.y, x + i, y + j, pixel(i, j).0)
            }
        }
        let bw = 1 << p.shiftX, bh = 1 << p.shiftY
        for cj in 0..<((h + bh - 1) / bh) {
            for ci in 0..<((w + bw - 1) / bw) {
                var u: Float = 0, v: Float = 0, n: Float = 0
                for j in (cj * bh)..<min(h, cj * bh + bh) {
                    for i in (ci * bw)..<min(w, ci * bw + bw) {
                        let (_, pu, pv) = pixel(i, j)
                        u += pu; v += pv; n += 1
                    }
                }
                store(p.u, (x >> p.shiftX) + ci, (y >> p.shiftY) + cj, u / n)
                store(p.v, (x >> p.shiftX) + ci, (y >> p.shiftY) + cj, v / n)
            }
        }
        return bad == 0
    }
}
