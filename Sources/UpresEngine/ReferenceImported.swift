import Foundation

/// Naive loops for the imported-network operations (ImportedOperations.swift), written from
/// ncnn's definitions (layer/deconvolution.cpp, padding.cpp, crop.cpp, interp.cpp).
extension ReferenceExecutor {
    static func runImported(_ op: Operation, _ ins: [Tensor], shape s: Tensor.Shape) -> Tensor {
        let x = ins[0]
        switch op {
        case .deconv(let d):
            var out = deconv(x, d, shape: s)
            if let a = d.activation { activate(&out, a) }
            return out
        case .channelAffine(let a, let b):
            var out = x
            let plane = x.shape.h * x.shape.w
            for i in 0..<out.data.count {
                let c = (i / plane) % x.shape.c
                out.data[i] = out.data[i] * a[a.count == 1 ? 0 : c] + b[b.count == 1 ? 0 : c]
            }
            return out
        case .channelPermute(let order):
            var out = x
            for n in 0..<s.n { for c in 0..<s.c { for y in 0..<s.h { for xx in 0..<s.w {
                out[n, c, y, xx] = x[n, order[c], y, xx]
            } } } }
            return out
        case .pad(let p):
            var out = Tensor(zeros: s)
            for n in 0..<s.n { for c in 0..<s.c { for y in 0..<s.h { for xx in 0..<s.w {
                let sy = y - p.top, sx = xx - p.left
                switch p.mode {
                case .constant(let v):
                    let inside = sy >= 0 && sy < x.shape.h && sx >= 0 && sx < x.shape.w
                    out[n, c, y, xx] = inside ? x[n, c, sy, sx] : v
                case .replicate:
                    out[n, c, y, xx] = x[n, c, min(max(sy, 0), x.shape.h - 1), min(max(sx, 0), x.shape.w - 1)]
                case .reflect:
                    out[n, c, y, xx] = x[n, c, reflect(sy, x.shape.h), reflect(sx, x.shape.w)]
                }
            } } } }
            return out
        case .crop(let t, let l, _, _), .cropLike(let t, let l):
            var out = Tensor(zeros: s)
            for n in 0..<s.n { for c in 0..<s.c { for y in 0..<s.h { for xx in 0..<s.w {
                out[n, c, y, xx] = x[n, c, y + t, xx + l]
            } } } }
            return out
        case .resize(let r):
            return resize(x, r, shape: s)
        default:
            preconditionFailure("not an imported operation: \(op)")
        }
    }

    /// Index of a mirrored coordinate (edge not repeated): -1 -> 1, n -> n - 2.
    static func reflect(_ i: Int, _ n: Int) -> Int {
        if i < 0 { return -i }
        if i >= n { return 2 * (n - 1) - i }
        return i
    }

    static func deconv(_ x: Tensor, _ d: Deconvolution, shape s: Tensor.Shape) -> Tensor {
        var acc = [Double](repeating: 0, count: s.count)
        let k = d.kernel, cinG = d.inChannels / d.groups, coutG = d.outChannels / d.groups
        for n in 0..<s.n {
            for ci in 0..<x.shape.c {
                let g = ci / cinG, i = ci % cinG
                for y in 0..<x.shape.h { for xx in 0..<x.shape.w {
                    let v = Double(x[n, ci, y, xx])
                    for oo in 0..<coutG {
                        let o = g * coutG + oo
                        for ky in 0..<k {
                            let oy = y * d.stride - d.padding + ky * d.dilation
                            if oy < 0 || oy >= s.h { continue }
                            for kx in 0..<k {
                                let ox = xx * d.stride - d.padding + kx * d.dilation
                                if ox < 0 || ox >= s.w { continue }
                                acc[((n * s.c + o) * s.h + oy) * s.w + ox] += v * Double(d.weights[o, i, ky, kx])
                            }
                        }
                    }
                } }
            }
        }
        var out = Tensor(zeros: s)
        let plane = s.h * s.w
        for j in 0..<s.count { out.data[j] = Float(acc[j]) + (d.bias?[(j / plane) % s.c] ?? 0) }
        return out
    }

    /// Source taps and weights of one output coordinate, per ncnn's interp.cpp.
    /// Source positions come from the factor (input step 1 / scale), not the sizes, as in ncnn
    /// (they differ when the output size was truncated); align-corners from the sizes.
    static func resizeTaps(_ mode: Resize.Mode, out: Int, outSize: Int, inSize: Int, scale: Float,
                           alignCorners: Bool) -> [(Int, Float)] {
        switch mode {
        case .nearest:
            return [(min(Int(Float(out) * (1 / scale)), inSize - 1), 1)]
        case .bilinear:
            if inSize == 1 { return [(0, 1)] }
            var f: Float
            if alignCorners { f = Float(Double(out) * Double(inSize - 1) / Double(outSize - 1)) }
            else { f = Float((Double(out) + 0.5) * Double(1 / scale) - 0.5) }
            var i = Int(floor(f))
            f -= Float(i)
            if i < 0 { i = 0; f = 0 }
            if i >= inSize - 1 { i = inSize - 2; f = 1 }
            return [(i, 1 - f), (i + 1, f)]
        case .bicubic:
            var f: Float
            if alignCorners { f = Float(Double(out) * Double(inSize - 1) / Double(outSize - 1)) }
            else { f = Float((Double(out) + 0.5) * Double(1 / scale) - 0.5) }
            let i = Int(floor(f))
            f -= Float(i)
            let w = cubicWeights(f)
            // Taps at i-1 ... i+2, clamped: folding the weights of outside taps onto the edge pixel.
            return (0..<4).map { (min(max(i - 1 + $0, 0), inSize - 1), w[$0]) }
        }
    }

    /// Keys cubic convolution weights for taps at -1, 0, 1, 2 from a fraction in [0, 1), a = -0.75.
    static func cubicWeights(_ fx: Float) -> [Float] {
        let a: Float = -0.75
        let x0 = fx + 1, x1 = fx, x2 = 1 - fx
        let w0 = a * x0 * x0 * x0 - 5 * a * x0 * x0 + 8 * a * x0 - 4 * a
        let w1 = (a + 2) * x1 * x1 * x1 - (a + 3) * x1 * x1 + 1
        let w2 = (a + 2) * x2 * x2 * x2 - (a + 3) * x2 * x2 + 1
        return [w0, w1, w2, 1 - w0 - w1 - w2]
    }

    static func resize(_ x: Tensor, _ r: Resize, shape s: Tensor.Shape) -> Tensor {
        var out = Tensor(zeros: s)
        let rows = (0..<s.h).map {
            resizeTaps(r.mode, out: $0, outSize: s.h, inSize: x.shape.h, scale: r.scaleY, alignCorners: r.alignCorners)
        }
        let cols = (0..<s.w).map {
            resizeTaps(r.mode, out: $0, outSize: s.w, inSize: x.shape.w, scale: r.scaleX, alignCorners: r.alignCorners)
        }
        for n in 0..<s.n { for c in 0..<s.c { for y in 0..<s.h { for xx in 0..<s.w {
            var v: Double = 0
            for (iy, wy) in rows[y] { for (ix, wx) in cols[xx] { v += Double(wy) * Double(wx) * Double(x[n, c, iy, ix]) } }
            out[n, c, y, xx] = Float(v)
        } } } }
        return out
    }
}
