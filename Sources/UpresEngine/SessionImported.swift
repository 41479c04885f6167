import Foundation
import CDNNL
import CEngineShims

/// oneDNN lowering of the imported-network operations (ImportedOperations.swift). Transposed
/// convolutions, per-channel affine maps and bilinear resizes are oneDNN primitives; the
/// memory-bound copies (pad, crop, channel order) and bicubic resizes, which oneDNN 2.6 lacks,
/// run on the host over the session's NHWC buffers (f32 or bf16).
extension Session {
    func compileImported(node: Node, index i: Int, shapes: [Tensor.Shape], values: [DNNLMemory], dt: dnnl_data_type_t) throws {
        let src = values[node.inputs[0]], dst = values[i]
        let s = shapes[node.inputs[0]], o = shapes[i]
        let bf = dt == dnnl_bf16
        let from = src.handle, to = dst.handle
        switch node.op {
        case .deconv(let d):
            try addDeconv(d, src: src, dst: dst, node: i, dt: dt, inShape: s, outShape: o)
        case .channelAffine(let a, let b):
            if a.count == 1 && b.count == 1 {
                try addActivation(.linear(scale: a[0], shift: b[0]), src: src, dst: dst, node: i, channels: o.c)
            } else {
                let scale = a.count == 1 ? [Float](repeating: a[0], count: o.c) : a
                let shift = b.count == 1 ? [Float](repeating: b[0], count: o.c) : b
                try addBinary(dnnl_binary_mul, src, try constant(scale, channels: o.c), dst, kind: "affine", node: i)
                try addBinary(dnnl_binary_add, dst, try constant(shift, channels: o.c), dst, kind: "affine", node: i)
            }
        case .channelPermute(let order):
            steps.append(Step(kind: "permute", node: i, primitive: nil, args: [], host: {
                HostKernels.permute(from: from, to: to, pixels: s.n * s.h * s.w, order: order, elementSize: bf ? 2 : 4)
            }))
        case .pad(let p):
            let fill: [UInt8] = {
                guard case .constant(let v) = p.mode else { return [] }
                return bf ? withUnsafeBytes(of: bf16(v)) { Array($0) } : withUnsafeBytes(of: v) { Array($0) }
            }()
            steps.append(Step(kind: "pad", node: i, primitive: nil, args: [], host: {
                HostKernels.pad(from: from, to: to, input: s, padding: p, fill: fill, elementSize: bf ? 2 : 4)
            }))
        case .crop(let t, let l, _, _), .cropLike(let t, let l):
            steps.append(Step(kind: "crop", node: i, primitive: nil, args: [], host: {
                HostKernels.crop(from: from, to: to, input: s, output: o, top: t, left: l, elementSize: bf ? 2 : 4)
            }))
        case .resize(let r) where r.mode == .bilinear && !r.alignCorners
                && Double(o.h) == Double(s.h) * Double(r.scaleY) && Double(o.w) == Double(s.w) * Double(r.scaleX):
            // oneDNN's linear resampling takes the factor from the sizes: the same half-pixel source
            // coordinates and edge clamping when no size was truncated.
            var d = dnnl_resampling_desc_t()
            var smd = src.desc, dmd = dst.desc
            try dnnl(dnnl_resampling_forward_desc_init(&d, dnnl_forward_inference, dnnl_resampling_linear, nil, &smd, &dmd),
                     "resampling")
            try addSimple(&d, kind: "resize", node: i, args: [(DNNL_ARG_SRC, src), (DNNL_ARG_DST, dst)])
        case .resize(let r):
            let rows = (0..<o.h).map {
                ReferenceExecutor.resizeTaps(r.mode, out: $0, outSize: o.h, inSize: s.h, scale: r.scaleY, alignCorners: r.alignCorners)
            }
            let cols = (0..<o.w).map {
                ReferenceExecutor.resizeTaps(r.mode, out: $0, outSize: o.w, inSize: s.w, scale: r.scaleX, alignCorners: r.alignCorners)
            }
            let resizer = SeparableResize(rows: rows, cols: cols, input: s, output: o, bf16: bf)
            steps.append(Step(kind: "resize", node: i, primitive: nil, args: [], host: { resizer.run(from: from, to: to) }))
        default:
            preconditionFailure("not an imported operation: \(node.op)")
        }
    }

    private func addDeconv(_ c: Deconvolution, src: DNNLMemory, dst: DNNLMemory, node: Int, dt: dnnl_data_type_t,
                           inShape s: Tensor.Shape, outShape o: Tensor.Shape) throws {
        let k = c.kernel, g = c.groups
        let wdims = g == 1 ? [c.outChannels, c.inChannels, k, k] : [g, c.outChannels / g, c.inChannels / g, k, k]
        var wAny = try MemoryDesc.make(wdims, dt, dnnl_format_tag_any)
        var bmd = try MemoryDesc.make([c.outChannels], dnnl_f32, dnnl_a)
        var smd = src.desc, dmd = dst.desc
        var d = dnnl_deconvolution_desc_t()
        let strides = [Int64(c.stride), Int64(c.stride)], dilates = [Int64(c.dilation - 1), Int64(c.dilation - 1)]
        let pads = [Int64(c.padding), Int64(c.padding)]
        let hasBias = c.bias != nil
        let status = withUnsafePointer(to: &bmd) { b in
            dnnl_dilated_deconvolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_deconvolution_direct, &smd, &wAny,
                                                         hasBias ? b : nil, &dmd, strides, dilates, pads, pads)
        }
        try dnnl(status, "deconvolution \(wdims)")
        let attr = try DNNLAttributes()
        var fused = false
        if let a = c.activation, let (alg, alpha, beta) = Session.eltwise(a) {
            let po = try DNNLPostOps()
            try dnnl(dnnl_post_ops_append_eltwise(po.handle, 1, alg, alpha, beta), "eltwise post-op")
            try attr.set(po)
            fused = true
        }
        guard let pd = try makePrimitiveDesc(&d, attr, ctx, "deconvolution") else {
            throw DNNLError(status: dnnl_unimplemented.rawValue, context: "deconvolution \(wdims)")
        }
        multiplyAddsByKind["deconv", default: 0] += Graph.multiplyAdds(c, input: s)

        let wMem = try packedWeights(node: node, c.weights.data, dims: wdims, into: pd.memoryDesc(dnnl_query_weights_md)) {
            try reorderPrimitive($0, $1)
        }
        var args = [arg(DNNL_ARG_SRC, src), arg(DNNL_ARG_WEIGHTS, wMem), arg(DNNL_ARG_DST, dst)]
        if let bias = c.bias { args.append(arg(DNNL_ARG_BIAS, try constantVector(bias))) }
        steps.append(Step(kind: "deconv", node: node, primitive: try DNNLPrimitive(pd, "deconv"), args: args))
        if let a = c.activation, !fused { try addActivation(a, src: dst, dst: dst, node: node, channels: o.c) }
    }
}

/// Copies over dense NHWC buffers; elements are moved as bytes, so f32 and bf16 share the code.
enum HostKernels {
    static func permute(from: UnsafeMutableRawPointer, to: UnsafeMutableRawPointer, pixels: Int, order: [Int], elementSize e: Int) {
        let c = order.count
        for p in 0..<pixels {
            let s = from + p * c * e, d = to + p * c * e
            for (k, j) in order.enumerated() { (d + k * e).copyMemory(from: s + j * e, byteCount: e) }
        }
    }

    static func crop(from: UnsafeMutableRawPointer, to: UnsafeMutableRawPointer, input s: Tensor.Shape, output o: Tensor.Shape,
                     top: Int, left: Int, elementSize e: Int) {
        let row = o.w * o.c * e
        for n in 0..<o.n {
            for y in 0..<o.h {
                let sp = from + (((n * s.h + y + top) * s.w + left) * s.c) * e
                (to + ((n * o.h + y) * o.w * o.c) * e).copyMemory(from: sp, byteCount: row)
            }
        }
    }

    static func pad(from: UnsafeMutableRawPointer, to: UnsafeMutableRawPointer, input s: Tensor.Shape, padding p: Padding,
                    fill: [UInt8], elementSize e: Int) {
        let oh = s.h + p.top + p.bottom, ow = s.w + p.left + p.right
        let pixel = s.c * e
        for n in 0..<s.n {
            for y in 0..<oh {
                var sy = y - p.top
                let rowOutside = sy < 0 || sy >= s.h
                switch p.mode {
                case .replicate: sy = min(max(sy, 0), s.h - 1)
                case .reflect: sy = ReferenceExecutor.reflect(sy, s.h)
                case .constant: break
                }
                let drow = to + (n * oh + y) * ow * pixel
                if case .constant = p.mode {
                    if rowOutside {
                        for x in 0..<(ow * s.c) { (drow + x * e).copyMemory(from: fill, byteCount: e) }
                        continue
                    }
                    for x in 0..<(p.left * s.c) { (drow + x * e).copyMemory(from: fill, byteCount: e) }
                    for x in 0..<(p.right * s.c) { (drow + ((p.left + s.w) * s.c + x) * e).copyMemory(from: fill, byteCount: e) }
                    (drow + p.left * pixel).copyMemory(from: from + (n * s.h + sy) * s.w * pixel, byteCount: s.w * pixel)
                    continue
                }
                let srow = from + (n * s.h + sy) * s.w * pixel
                for x in 0..<ow {
                    let sx = p.mode == .replicate ? min(max(x - p.left, 0), s.w - 1) : ReferenceExecutor.reflect(x - p.left, s.w)
                    (drow + x * pixel).copyMemory(from: srow + sx * pixel, byteCount: pixel)
                }
            }
        }
    }
}

/// A resize as two passes of precomputed taps (rows of the input resampled horizontally into a
/// float scratch, then columns), on NHWC f32 or bf16.
final class SeparableResize {
    let rowTaps: [[(Int, Float)]], colTaps: [[(Int, Float)]]
    let input: Tensor.Shape, output: Tensor.Shape
    let bf16: Bool
    let scratch: UnsafeMutablePointer<Float>

    init(rows: [[(Int, Float)]], cols: [[(Int, Float)]], input: Tensor.Shape, output: Tensor.Shape, bf16: Bool) {
        rowTaps = rows; colTaps = cols
        self.input = input; self.output = output
        self.bf16 = bf16
        scratch = .allocate(capacity: input.h * output.w * input.c)
    }

    deinit { scratch.deallocate() }

    func run(from: UnsafeMutableRawPointer, to: UnsafeMutableRawPointer) {
        let c = input.c, ow = output.w
        for n in 0..<input.n {
            // Horizontal pass: every input row -> ow pixels.
            for y in 0..<input.h {
                let base = (n * input.h + y) * input.w * c
                let drow = scratch + y * ow * c
                for x in 0..<ow {
                    let d = drow + x * c
                    for k in 0..<c { d[k] = 0 }
                    for (ix, w) in colTaps[x] {
                        let si = base + ix * c
                        if bf16 {
                            let sp = from.assumingMemoryBound(to: UInt16.self) + si
                            for k in 0..<c { d[k] += w * float(fromBF16: sp[k]) }
                        } else {
                            let sp = from.assumingMemoryBound(to: Float.self) + si
                            for k in 0..<c { d[k] += w * sp[k] }
                        }
                    }
                }
            }
            // Vertical pass.
            var acc = [Float](repeating: 0, count: ow * c)
            for y in 0..<output.h {
                for j in 0..<acc.count { acc[j] = 0 }
                for (iy, w) in rowTaps[y] {
                    let srow = scratch + iy * ow * c
                    for j in 0..<acc.count { acc[j] += w * srow[j] }
                }
                let di = (n * output.h + y) * ow * c
                if bf16 {
                    let dp = to.assumingMemoryBound(to: UInt16.self) + di
                    for j in 0..<acc.count { dp[j] = UpresEngine.bf16(acc[j]) }
                } else {
                    let dp = to.assumingMemoryBound(to: Float.self) + di
                    for j in 0..<acc.count { dp[j] = acc[j] }
                }
            }
        }
    }
}
