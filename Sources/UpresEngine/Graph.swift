/// The network IR shared by the reference executor and the oneDNN sessions: a list of nodes
/// in execution order, each reading earlier nodes' outputs (NCHW tensors, batch 1 in practice).

public enum Activation: Equatable, Sendable {
    case relu
    case leakyRelu(Float)
    /// One slope per channel.
    case prelu([Float])
    /// Exact (erf) GELU, as PyTorch's default.
    case gelu
    case sigmoid
    case tanh
    /// x * sigmoid(x) (SiLU).
    case swish
    /// x * tanh(softplus(x)).
    case mish
    /// min(max(x, lo), hi).
    case clip(Float, Float)
    /// scale * x + shift (ncnn's scalar BinaryOp).
    case linear(scale: Float, shift: Float)
}

/// Work fused after a convolution, applied in order to its output.
public enum PostOp: Equatable, Sendable {
    case activation(Activation)
    /// Adds the output of another node (same shape): residual connections.
    case add(Int)
    /// Multiplies by the output of another node (same shape, or N x C x 1 x 1).
    case mul(Int)
}

public struct Convolution: Equatable, Sendable {
    /// cout x (cin / groups) x k x k.
    public var weights: Tensor
    public var bias: [Float]?
    public var stride: Int
    public var padding: Int
    public var groups: Int
    public var dilation: Int
    public var postOps: [PostOp]

    public init(weights: Tensor, bias: [Float]?, stride: Int = 1, padding: Int? = nil, groups: Int = 1,
                dilation: Int = 1, postOps: [PostOp] = []) {
        self.weights = weights
        self.bias = bias
        self.stride = stride
        self.padding = padding ?? (dilation * (weights.shape.h - 1)) / 2
        self.groups = groups
        self.dilation = dilation
        self.postOps = postOps
    }

    public var outChannels: Int { weights.shape.n }
    public var inChannels: Int { weights.shape.c * groups }
    public var kernel: Int { weights.shape.h }
}

public enum Operation: Equatable, Sendable {
    case input
    case conv(Convolution)
    case activation(Activation)
    /// inputs[0] + inputs[1] (same shape).
    case add
    /// inputs[0] * inputs[1]; the second may be N x C x 1 x 1 (broadcast over H, W).
    case mul
    /// Concatenation along channels.
    case concat
    /// Depth to space (PyTorch PixelShuffle channel order).
    case pixelShuffle(Int)
    /// Max pooling; padding is ignored (as -infinity), like PyTorch.
    case maxPool(kernel: Int, stride: Int, padding: Int)
    /// inputs[0] resized to the height and width of inputs[1]; bilinear, half-pixel centres
    /// (PyTorch `align_corners=False`).
    case resizeBilinear
    /// Per-channel mean + population standard deviation over H, W -> N x C x 1 x 1 (BSRN's CCA).
    case meanPlusStd
    /// Per-channel mean over H, W -> N x C x 1 x 1.
    case globalMean
    /// Multiplies each channel by a constant.
    case channelScale([Float])
    /// Nearest-neighbour upsampling by an integer factor (output (y, x) = input (y / s, x / s)).
    case nearestUpsample(Int)
    // Operations of imported (ncnn) networks; shapes, reference and oneDNN code in ImportedOperations.swift,
    // ReferenceImported.swift and SessionImported.swift.
    /// Transposed convolution.
    case deconv(Deconvolution)
    /// Per-channel scale * x + shift (one value each, or one per channel).
    case channelAffine(scale: [Float], shift: [Float])
    /// Output channel i = input channel order[i] (RGB <-> BGR).
    case channelPermute([Int])
    /// Border added around H, W.
    case pad(Padding)
    /// Rows and columns removed from each side.
    case crop(top: Int, left: Int, bottom: Int, right: Int)
    /// inputs[0] cut to the height and width of inputs[1], starting at (top, left).
    case cropLike(top: Int, left: Int)
    /// Resize by fixed factors (output size truncated, as ncnn's Interp).
    case resize(Resize)
    /// An activation, add or multiply with the elementwise work after it (made by `fused()`).
    case elementwise(Elementwise)
}

public struct Node: Equatable, Sendable {
    public var op: Operation
    public var inputs: [Int]
    /// Where the node came from (tensor name prefix), for errors and per-layer timing.
    public var name: String
}

public struct GraphError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

public struct Graph: Equatable, Sendable {
    public var nodes: [Node]
    public var output: Int

    public init(nodes: [Node], output: Int) {
        self.nodes = nodes
        self.output = output
    }

    /// Output shape of every node for an input shape; throws when the graph does not fit it.
    public func shapes(input: Tensor.Shape) throws -> [Tensor.Shape] {
        var shapes: [Tensor.Shape] = []
        shapes.reserveCapacity(nodes.count)
        let limit = GraphLimits.elementLimit(input)
        guard output >= 0 && output < nodes.count else { throw GraphError("the output is node \(output) of \(nodes.count)") }
        for (i, node) in nodes.enumerated() {
            for j in node.inputs where j >= i || j < 0 { throw GraphError("node \(i) (\(node.name)) reads node \(j)") }
            let ins = node.inputs.map { shapes[$0] }
            func fail(_ m: String) -> GraphError { GraphError("\(node.name): \(m)") }
            try Graph.check(node, inputs: ins, fail: fail)
            for j in node.op.postOps.compactMap(\.operand) where j < 0 || j >= i {
                throw fail("a fused operand reads node \(j)")
            }
            let s: Tensor.Shape
            switch node.op {
            case .input:
                s = input
            case .conv(let c):
                let x = ins[0]
                guard x.c == c.inChannels else { throw fail("conv expects \(c.inChannels) channels, got \(x.c)") }
                let k = c.dilation * (c.kernel - 1) + 1
                let h = (x.h + 2 * c.padding - k) / c.stride + 1, w = (x.w + 2 * c.padding - k) / c.stride + 1
                guard h > 0, w > 0 else { throw fail("input \(x.h)x\(x.w) too small for the conv") }
                s = .init(x.n, c.outChannels, h, w)
                try Graph.checkPostOps(c.postOps, shape: s, shapes: shapes, fail: fail)
            case .elementwise(let e):
                s = try Graph.headShape(e.head, ins, fail: fail)
                try Graph.checkPostOps(e.postOps, shape: s, shapes: shapes, fail: fail)
            case .activation(let a):
                if case .prelu(let slopes) = a, slopes.count != ins[0].c {
                    throw fail("PReLU has \(slopes.count) slopes for \(ins[0].c) channels")
                }
                s = ins[0]
            case .add:
                s = try Graph.headShape(.add, ins, fail: fail)
            case .mul:
                s = try Graph.headShape(.mul, ins, fail: fail)
            case .concat:
                guard ins.allSatisfy({ $0.h == ins[0].h && $0.w == ins[0].w && $0.n == ins[0].n }) else {
                    throw fail("concat of different sizes")
                }
                s = .init(ins[0].n, ins.reduce(0) { $0 + $1.c }, ins[0].h, ins[0].w)
            case .pixelShuffle(let r):
                guard ins[0].c % (r * r) == 0 else { throw fail("pixel shuffle of \(ins[0].c) channels by \(r)") }
                s = .init(ins[0].n, ins[0].c / (r * r), ins[0].h * r, ins[0].w * r)
            case .maxPool(let k, let st, let p):
                let h = (ins[0].h + 2 * p - k) / st + 1, w = (ins[0].w + 2 * p - k) / st + 1
                guard h > 0, w > 0 else { throw fail("input too small for max pooling") }
                s = .init(ins[0].n, ins[0].c, h, w)
            case .resizeBilinear:
                s = .init(ins[0].n, ins[0].c, ins[1].h, ins[1].w)
            case .meanPlusStd, .globalMean:
                s = .init(ins[0].n, ins[0].c, 1, 1)
            case .channelScale(let w):
                guard w.count == ins[0].c else { throw fail("\(w.count) channel weights for \(ins[0].c) channels") }
                s = ins[0]
            case .nearestUpsample(let r):
                s = .init(ins[0].n, ins[0].c, ins[0].h * r, ins[0].w * r)
            case .deconv, .channelAffine, .channelPermute, .pad, .crop, .cropLike, .resize:
                s = try Graph.importedShape(node.op, ins, shapes: shapes, fail: fail)
            }
            try Graph.checkOutput(s, limit: limit, fail: fail)
            shapes.append(s)
        }
        return shapes
    }

    /// The result shape of an elementwise operation on `ins`.
    static func headShape(_ head: Elementwise.Head, _ ins: [Tensor.Shape], fail: (String) -> GraphError) throws -> Tensor.Shape {
        switch head {
        case .activation:
            return ins[0]
        case .add:
            guard ins[0] == ins[1] else { throw fail("add of \(ins[0]) and \(ins[1])") }
            return ins[0]
        case .mul:
            guard ins[0] == ins[1] || (ins[1].c == ins[0].c && ins[1].h == 1 && ins[1].w == 1) else {
                throw fail("mul of \(ins[0]) and \(ins[1])")
            }
            return ins[0]
        }
    }

    /// Post-ops applied to a result of shape `s`: residuals of the same shape, multipliers of
    /// the same shape or N x C x 1 x 1, one PReLU slope per channel.
    static func checkPostOps(_ ops: [PostOp], shape s: Tensor.Shape, shapes: [Tensor.Shape],
                             fail: (String) -> GraphError) throws {
        for p in ops {
            switch p {
            case .add(let j): guard shapes[j] == s else { throw fail("residual shape \(shapes[j]) != \(s)") }
            case .mul(let j):
                guard shapes[j] == s || (shapes[j].c == s.c && shapes[j].h == 1 && shapes[j].w == 1) else {
                    throw fail("multiplier shape \(shapes[j]) does not fit \(s)")
                }
            case .activation(.prelu(let slopes)):
                guard slopes.count == s.c else { throw fail("PReLU has \(slopes.count) slopes for \(s.c) channels") }
            case .activation: break
            }
        }
    }

    /// Multiply-adds of the convolutions for one input (the usual cost measure).
    public func multiplyAdds(input: Tensor.Shape) throws -> Int {
        let shapes = try self.shapes(input: input)
        var total = 0
        for (i, node) in nodes.enumerated() {
            var macs: Int? = 0
            if case .conv(let c) = node.op {
                let s = shapes[i]
                macs = Checked.product([s.n, s.c, s.h, s.w, c.inChannels / c.groups, c.kernel, c.kernel])
            } else if case .deconv(let d) = node.op {
                let x = shapes[node.inputs[0]]
                macs = Checked.product([x.n, x.h, x.w, x.c, d.outChannels / d.groups, d.kernel, d.kernel])
            }
            guard let m = macs, let t = Checked.sum(total, m) else { throw GraphError("\(node.name): too many multiply-adds") }
            total = t
        }
        return total
    }

    /// Folds activations, residual adds and multiplies into the convolution or elementwise
    /// operation before them when nothing else reads its output (fewer passes over memory).
    /// Same function.
    public func fused() -> Graph {
        var nodes = self.nodes
        var output = self.output
        var changed = true
        while changed {
            changed = false
            let readers = Graph.readers(nodes, output: output)
            let global = Graph.globalNodes(nodes)
            for i in nodes.indices where readers[i].count == 1 && readers[i][0] >= 0 {
                let j = readers[i][0]
                let isConv: Bool
                if case .conv = nodes[i].op { isConv = true } else if Elementwise(nodes[i].op) != nil { isConv = false } else { continue }
                guard let p = Graph.postOp(folding: nodes[j], into: i, global: global),
                      isConv || !p.isPReLU else { continue }   // oneDNN fuses PReLU after convolutions only
                if !isConv { nodes[i].op = .elementwise(Elementwise(nodes[i].op)!) }
                nodes[i].op.postOps.append(p)
                // Node j becomes node i; drop the old slot by remapping.
                (nodes, output) = Graph.replace(nodes, output: output, remove: j, with: i)
                changed = true
                break
            }
        }
        return Graph(nodes: nodes, output: output)
    }

    /// Node `reader` as a post-op of node `i`, its only reader's input: an activation of it, or
    /// an add or multiply of it with an earlier node.
    static func postOp(folding reader: Node, into i: Int, global: [Bool]) -> PostOp? {
        let ins = reader.inputs
        switch reader.op {
        case .activation(let a) where ins == [i]:
            return .activation(a)
        case .add where ins.count == 2:
            let other = ins[0] == i ? ins[1] : ins[0]
            return other < i ? .add(other) : nil
        case .mul where ins.count == 2 && ins[0] == i:
            return ins[1] < i ? .mul(ins[1]) : nil
        case .mul where ins.count == 2 && ins[1] == i:
            // x * f(...): commutative when both are full-size (not an N x C x 1 x 1 weight).
            let x = ins[0]
            return x < i && !global[i] && !global[x] ? .mul(x) : nil
        default:
            return nil
        }
    }

    /// Nodes whose output is N x C x 1 x 1 (derived from a global pooling).
    static func globalNodes(_ nodes: [Node]) -> [Bool] {
        var g = [Bool](repeating: false, count: nodes.count)
        for (i, n) in nodes.enumerated() {
            switch n.op {
            case .meanPlusStd, .globalMean: g[i] = true
            case .conv, .activation, .add, .mul, .elementwise, .channelScale, .channelAffine, .channelPermute:
                g[i] = n.inputs.first.map { g[$0] } ?? false
            default: g[i] = false
            }
        }
        return g
    }

    static func readers(_ nodes: [Node], output: Int) -> [[Int]] {
        var r = [[Int]](repeating: [], count: nodes.count)
        for (j, n) in nodes.enumerated() {
            for i in n.inputs { r[i].append(j) }
            for k in n.op.postOps.compactMap(\.operand) { r[k].append(j) }
        }
        r[output].append(-1)
        return r
    }

    /// Removes node `remove`, redirecting its readers to `with` (which is earlier).
    static func replace(_ nodes: [Node], output: Int, remove: Int, with keep: Int) -> ([Node], Int) {
        func map(_ k: Int) -> Int { k == remove ? keep : (k > remove ? k - 1 : k) }
        var out: [Node] = []
        for (j, var n) in nodes.enumerated() where j != remove {
            n.inputs = n.inputs.map(map)
            n.op.postOps = n.op.postOps.map { $0.remapped(map) }
            out.append(n)
        }
        return (out, map(output))
    }
}
