import Foundation

/// Runs a graph with naive loops in plain Swift: slow, obviously correct, the ground
/// truth the oneDNN sessions are tested against.
public enum ReferenceExecutor {
    public static func run(_ graph: Graph, input: Tensor) throws -> Tensor {
        let shapes = try graph.shapes(input: input.shape)
        var values: [Tensor?] = Array(repeating: nil, count: graph.nodes.count)
        for (i, node) in graph.nodes.enumerated() {
            let ins = node.inputs.map { values[$0]! }
            var out: Tensor
            switch node.op {
            case .input: out = input
            case .conv(let c):
                out = conv(ins[0], c, shape: shapes[i])
            case .elementwise(let e):
                switch e.head {
                case .activation(let a): out = ins[0]; activate(&out, a)
                case .add: out = add(ins[0], ins[1])
                case .mul: out = mul(ins[0], ins[1])
                }
            case .activation(let a): out = ins[0]; activate(&out, a)
            case .add: out = add(ins[0], ins[1])
            case .mul: out = mul(ins[0], ins[1])
            case .concat: out = concat(ins)
            case .pixelShuffle(let r): out = pixelShuffle(ins[0], r)
            case .maxPool(let k, let s, let p): out = maxPool(ins[0], k, s, p, shape: shapes[i])
            case .resizeBilinear: out = resizeBilinear(ins[0], shape: shapes[i])
            case .meanPlusStd: out = channelStats(ins[0], withStd: true)
            case .globalMean: out = channelStats(ins[0], withStd: false)
            case .channelScale(let w):
                out = ins[0]
                for n in 0..<out.shape.n { for c in 0..<out.shape.c { for y in 0..<out.shape.h { for x in 0..<out.shape.w {
                    out[n, c, y, x] *= w[c]
                } } } }
            case .nearestUpsample(let r): out = nearest(ins[0], r)
            case .deconv, .channelAffine, .channelPermute, .pad, .crop, .cropLike, .resize:
                out = runImported(node.op, ins, shape: shapes[i])
            }
            for p in node.op.postOps {
                switch p {
                case .activation(let a): activate(&out, a)
                case .add(let j): out = add(out, values[j]!)
                case .mul(let j): out = mul(out, values[j]!)
                }
            }
            values[i] = out
        }
        return values[graph.output]!
    }

    static func conv(_ x: Tensor, _ c: Convolution, shape s: Tensor.Shape) -> Tensor {
        var out = Tensor(zeros: s)
        let k = c.kernel, cinG = c.inChannels / c.groups, coutG = c.outChannels / c.groups
        for n in 0..<s.n {
            for o in 0..<s.c {
                let g = o / coutG
                let b = c.bias?[o] ?? 0
                for y in 0..<s.h {
                    for xx in 0..<s.w {
                        var acc: Double = 0
                        for ci in 0..<cinG {
                            let cin = g * cinG + ci
                            for ky in 0..<k {
                                let iy = y * c.stride - c.padding + ky * c.dilation
                                if iy < 0 || iy >= x.shape.h { continue }
                                for kx in 0..<k {
                                    let ix = xx * c.stride - c.padding + kx * c.dilation
                                    if ix < 0 || ix >= x.shape.w { continue }
                                    acc += Double(x[n, cin, iy, ix]) * Double(c.weights[o, ci, ky, kx])
                                }
                            }
                        }
                        out[n, o, y, xx] = Float(acc) + b
                    }
                }
            }
        }
        return out
    }

    public static func activate(_ t: inout Tensor, _ a: Activation) {
        let plane = t.shape.h * t.shape.w
        for i in 0..<t.data.count {
            let v = t.data[i]
            switch a {
            case .relu: t.data[i] = max(v, 0)
            case .leakyRelu(let s): t.data[i] = v >= 0 ? v : v * s
            case .prelu(let slopes): t.data[i] = v >= 0 ? v : v * slopes[(i / plane) % t.shape.c]
            case .gelu: t.data[i] = Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot())))
            case .sigmoid: t.data[i] = Float(1 / (1 + exp(-Double(v))))
            case .tanh: t.data[i] = Foundation.tanh(v)
            case .swish: t.data[i] = Float(Double(v) / (1 + exp(-Double(v))))
            case .mish: t.data[i] = Float(Double(v) * Foundation.tanh(log1p(exp(Double(v)))))
            case .clip(let lo, let hi): t.data[i] = min(max(v, lo), hi)
            case .linear(let a, let b): t.data[i] = a * v + b
            }
        }
    }

    static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        var out = a
        for i in 0..<out.data.count { out.data[i] += b.data[i] }
        return out
    }

    static func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
        var out = a
        if a.shape == b.shape {
            for i in 0..<out.data.count { out.data[i] *= b.data[i] }
        } else {
            let plane = a.shape.h * a.shape.w
            for i in 0..<out.data.count { out.data[i] *= b.data[i / plane] }
        }
        return out
    }

    static func concat(_ ts: [Tensor]) -> Tensor {
        let s0 = ts[0].shape
        var out = Tensor(zeros: .init(s0.n, ts.reduce(0) { $0 + $1.shape.c }, s0.h, s0.w))
        for n in 0..<s0.n {
            var c0 = 0
            for t in ts {
                for c in 0..<t.shape.c { for y in 0..<s0.h { for x in 0..<s0.w { out[n, c0 + c, y, x] = t[n, c, y, x] } } }
                c0 += t.shape.c
            }
        }
        return out
    }

    static func pixelShuffle(_ t: Tensor, _ r: Int) -> Tensor {
        let s = t.shape
        var out = Tensor(zeros: .init(s.n, s.c / (r * r), s.h * r, s.w * r))
        for n in 0..<s.n { for c in 0..<out.shape.c { for i in 0..<r { for j in 0..<r {
            for y in 0..<s.h { for x in 0..<s.w { out[n, c, y * r + i, x * r + j] = t[n, c * r * r + i * r + j, y, x] } }
        } } } }
        return out
    }

    static func maxPool(_ t: Tensor, _ k: Int, _ st: Int, _ p: Int, shape s: Tensor.Shape) -> Tensor {
        var out = Tensor(zeros: s)
        for n in 0..<s.n { for c in 0..<s.c { for y in 0..<s.h { for x in 0..<s.w {
            var m = -Float.infinity
            for ky in 0..<k { for kx in 0..<k {
                let iy = y * st - p + ky, ix = x * st - p + kx
                if iy >= 0 && iy < t.shape.h && ix >= 0 && ix < t.shape.w { m = max(m, t[n, c, iy, ix]) }
            } }
            out[n, c, y, x] = m
        } } } }
        return out
    }

    static func resizeBilinear(_ t: Tensor, shape s: Tensor.Shape) -> Tensor {
        var out = Tensor(zeros: s)
        func coords(_ o: Int, _ outSize: Int, _ inSize: Int) -> (Int, Int, Float) {
            let src = max(0, (Float(o) + 0.5) * Float(inSize) / Float(outSize) - 0.5)
            let i0 = min(Int(src), inSize - 1)
            let i1 = min(i0 + 1, inSize - 1)
            return (i0, i1, src - Float(i0))
        }
        for n in 0..<s.n { for c in 0..<s.c { for y in 0..<s.h {
            let (y0, y1, fy) = coords(y, s.h, t.shape.h)
            for x in 0..<s.w {
                let (x0, x1, fx) = coords(x, s.w, t.shape.w)
                let top = t[n, c, y0, x0] * (1 - fx) + t[n, c, y0, x1] * fx
                let bottom = t[n, c, y1, x0] * (1 - fx) + t[n, c, y1, x1] * fx
                out[n, c, y, x] = top * (1 - fy) + bottom * fy
            }
        } } }
        return out
    }

    static func channelStats(_ t: Tensor, withStd: Bool) -> Tensor {
        var out = Tensor(zeros: .init(t.shape.n, t.shape.c, 1, 1))
        let count = Double(t.shape.h * t.shape.w)
        for n in 0..<t.shape.n { for c in 0..<t.shape.c {
            var sum: Double = 0
            for y in 0..<t.shape.h { for x in 0..<t.shape.w { sum += Double(t[n, c, y, x]) } }
            let mean = sum / count
            var v: Double = 0
            if withStd { for y in 0..<t.shape.h { for x in 0..<t.shape.w { let d = Double(t[n, c, y, x]) - mean; v += d * d } } }
            out[n, c, 0, 0] = Float(mean + (withStd ? (v / count).squareRoot() : 0))
        } }
        return out
    }

    static func nearest(_ t: Tensor, _ r: Int) -> Tensor {
        var out = Tensor(zeros: .init(t.shape.n, t.shape.c, t.shape.h * r, t.shape.w * r))
        for n in 0..<t.shape.n { for c in 0..<t.shape.c { for y in 0..<out.shape.h { for x in 0..<out.shape.w {
            out[n, c, y, x] = t[n, c, y / r, x / r]
        } } } }
        return out
    }
}
