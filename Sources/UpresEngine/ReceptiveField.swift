/// Which input pixels an output pixel depends on, found by walking intervals of rows and columns
/// back through the graph from one output block in the middle of a probe input: exact for any
/// mix of strides, shuffles, resizes, pads and crops, unlike summing kernel sizes.
extension Graph {
    /// Side of the input window that the `scale` x `scale` outputs of one input pixel depend on
    /// (2 x radius + 1, in input pixels); nil when some output depends on the whole input
    /// (global pooling) or the graph does not map an input of `n` to `scale * n`.
    public func receptiveField(scale: Int, channels: Int) -> Int? {
        var n = 96
        while n <= 4096 {
            guard let radius = dependencyRadius(scale: scale, channels: channels, size: n) else { return nil }
            if radius < n / 4 { return 2 * radius + 1 }
            n *= 2
        }
        return nil
    }

    private func dependencyRadius(scale: Int, channels: Int, size n: Int) -> Int? {
        guard let shapes = try? self.shapes(input: .init(1, channels, n, n)),
              shapes[output].h == n * scale, shapes[output].w == n * scale else { return nil }
        var radius = 0
        for vertical in [true, false] {
            var need: [ClosedRange<Int>?] = Array(repeating: nil, count: nodes.count)
            let centre = n / 2
            need[output] = (centre * scale)...(centre * scale + scale - 1)
            for i in stride(from: nodes.count - 1, through: 0, by: -1) {
                guard let r = need[i] else { continue }
                let node = nodes[i]
                if case .input = node.op {
                    radius = max(radius, centre - r.lowerBound, r.upperBound - centre)
                    continue
                }
                let inSize = vertical ? shapes[node.inputs[0]].h : shapes[node.inputs[0]].w
                guard let r0 = Graph.inputInterval(node.op, r, inSize: inSize, outSize: vertical ? shapes[i].h : shapes[i].w,
                                                   vertical: vertical) else { return nil }
                let clamped = max(0, r0.lowerBound)...min(inSize - 1, max(0, r0.upperBound))
                // Other inputs: the same rows (joins, fused residuals), or none (size references).
                let outSize = vertical ? shapes[i].h : shapes[i].w
                var others: [Int] = []
                switch node.op {
                case .cropLike, .resizeBilinear: break
                case .conv(let c):
                    others = c.postOps.compactMap(\.operand)
                case .elementwise(let e):
                    others = Array(node.inputs.dropFirst()) + e.postOps.compactMap(\.operand)
                default: others = Array(node.inputs.dropFirst())
                }
                var targets = [(node.inputs[0], clamped)]
                for j in others {
                    // A 1-pixel operand broadcast over a larger output: per-channel weights of a global pooling.
                    if (vertical ? shapes[j].h : shapes[j].w) == 1 && outSize > 1 { return nil }
                    targets.append((j, r))
                }
                for (j, range) in targets {
                    need[j] = need[j].map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
                }
            }
        }
        return radius
    }

    /// Rows (or columns) of a node's first input that output rows `r` read; nil for global operations.
    static func inputInterval(_ op: Operation, _ r: ClosedRange<Int>, inSize: Int, outSize: Int,
                              vertical: Bool) -> ClosedRange<Int>? {
        func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
        switch op {
        case .input: return r
        case .conv(let c):
            let ext = c.dilation * (c.kernel - 1) + 1
            return (r.lowerBound * c.stride - c.padding)...(r.upperBound * c.stride - c.padding + ext - 1)
        case .maxPool(let k, let s, let p):
            return (r.lowerBound * s - p)...(r.upperBound * s - p + k - 1)
        case .deconv(let d):
            let ext = d.dilation * (d.kernel - 1) + 1
            let lo = -floorDiv(-(r.lowerBound + d.padding - ext + 1), d.stride)   // ceil
            return lo...max(lo, floorDiv(r.upperBound + d.padding, d.stride))
        case .pixelShuffle(let f), .nearestUpsample(let f):
            return (r.lowerBound / f)...(r.upperBound / f)
        case .resize(let z):
            var lo = Int.max, hi = Int.min
            for o in r {
                for (i, _) in ReferenceExecutor.resizeTaps(z.mode, out: o, outSize: outSize, inSize: inSize,
                                                           scale: vertical ? z.scaleY : z.scaleX, alignCorners: z.alignCorners) {
                    lo = min(lo, i); hi = max(hi, i)
                }
            }
            return lo...hi
        case .resizeBilinear:
            let lo = Int((Double(r.lowerBound) + 0.5) * Double(inSize) / Double(outSize) - 0.5) - 1
            let hi = Int((Double(r.upperBound) + 0.5) * Double(inSize) / Double(outSize) - 0.5) + 1
            return lo...hi
        case .pad(let p):
            let t = vertical ? p.top : p.left
            return (r.lowerBound - t)...(r.upperBound - t)
        case .crop(let top, let left, _, _), .cropLike(let top, let left):
            let t = vertical ? top : left
            return (r.lowerBound + t)...(r.upperBound + t)
        case .meanPlusStd, .globalMean:
            return nil
        case .activation, .add, .mul, .elementwise, .concat, .channelScale, .channelAffine, .channelPermute:
            return r
        }
    }
}
