import Foundation

/// Turns an ncnn network (`.param` layers, `.bin` weights) into an upres graph, one layer at a
/// time in file order, reading each layer's weights as ncnn's `load_model` does. Node 0 is the
/// input; the graph computes exactly what ncnn computes (the input convention is the model's own:
/// NCNNModel.swift wraps it).
struct NCNNImporter {
    /// What a blob name stands for: a node's output, or a MemoryData constant.
    enum Value {
        case node(Int)
        case constant([Float], w: Int, h: Int, c: Int)
    }

    static let supported = ["Input", "Split", "Dropout", "Noop", "Convolution", "ConvolutionDepthWise", "Deconvolution",
                            "DeconvolutionDepthWise", "InnerProduct", "ReLU", "PReLU", "Sigmoid", "TanH", "Swish", "Mish",
                            "Clip", "GELU", "BinaryOp", "Eltwise", "MemoryData", "Concat", "PixelShuffle", "Interp", "Crop",
                            "Padding", "Pooling", "BatchNorm", "Scale"]

    var weights: NCNNWeightReader
    var nodes: [Node] = [Node(op: .input, inputs: [], name: "input")]
    var blobs: [String: Value] = [:]
    /// Nodes whose output is N x C x 1 x 1 (global pooling and what follows it).
    var global: Set<Int> = []
    /// Weight values read (the parameter count).
    var parameters = 0
    var declaredChannels: Int?
    var inputSeen = false

    init(weights: NCNNWeightReader) { self.weights = weights }

    /// The graph (output: the blob no layer reads) and the imported layer types.
    static func build(_ file: NCNNParamFile, weights: NCNNWeightReader, source: String) throws -> NCNNImporter {
        var b = NCNNImporter(weights: weights)
        for layer in file.layers { try b.importLayer(layer) }
        if b.weights.remaining > 0 {
            throw NCNNError("\(b.weights.source): \(b.weights.remaining) bytes left after the last layer's weights "
                            + "(not the .bin of this .param?)")
        }
        guard b.inputSeen else { throw NCNNError("\(source): no Input layer") }
        return b
    }

    @discardableResult
    mutating func add(_ op: Operation, _ inputs: [Int], _ name: String, global g: Bool = false) -> Int {
        nodes.append(Node(op: op, inputs: inputs, name: name))
        // Joins are per-channel only when every input is (x * weights stays full-size).
        let join: Bool
        switch op { case .mul, .add, .concat: join = true; default: join = false }
        let fromGlobal = !inputs.isEmpty && (join ? inputs.allSatisfy(global.contains) : global.contains(inputs[0]))
        if g || fromGlobal { global.insert(nodes.count - 1) }
        return nodes.count - 1
    }

    func node(_ blob: String, _ layer: NCNNLayer) throws -> Int {
        switch blobs[blob] {
        case .node(let i): return i
        case .constant: throw layer.fail("reads the constant '\(blob)' where a tensor is expected (only BinaryOp takes constants)")
        case nil: throw layer.fail("reads unknown blob '\(blob)'")
        }
    }

    mutating func load(_ count: Int, type: Int, _ layer: NCNNLayer, _ what: String) throws -> NCNNWeightReader.Array {
        let a = try weights.load(count, type: type, layer: layer, what: what)
        parameters += count
        return a
    }

    /// Names every output blob of `layer` after node `i` (ncnn's in-place layers, Split).
    mutating func output(_ layer: NCNNLayer, _ i: Int) {
        for t in layer.tops { blobs[t] = .node(i) }
    }

    /// ncnn's fused activation (activation_type 9, activation_params 10).
    static func activation(_ layer: NCNNLayer) throws -> Activation? {
        let p = try layer.array(10) ?? []
        func param(_ k: Int, _ def: Float) -> Float { k < p.count ? p[k] : def }
        switch try layer.int(9, 0) {
        case 0: return nil
        case 1: return .relu
        case 2: return .leakyRelu(param(0, 0))
        case 3: return .clip(param(0, -Float.greatestFiniteMagnitude), param(1, Float.greatestFiniteMagnitude))
        case 4: return .sigmoid
        case 5: return .mish
        case let t: throw layer.fail("activation_type \(t)\(t == 6 ? " (hardswish)" : "") is not supported")
        }
    }

    mutating func importLayer(_ l: NCNNLayer) throws {
        func one() throws -> Int {
            guard l.bottoms.count == 1 else { throw l.fail("expects 1 input, has \(l.bottoms.count)") }
            return try node(l.bottoms[0], l)
        }
        switch l.type {
        case "Input":
            guard !inputSeen else { throw l.fail("a second Input layer: networks with several inputs are not supported") }
            inputSeen = true
            let c = try l.int(2, 0)
            guard c <= 4 else { throw l.fail("the input has \(c) channels; upres runs 1 (luma) or 3 (RGB) channel models") }
            if c > 0 { declaredChannels = c }
            output(l, 0)
        case "Split", "Noop":
            output(l, try one())
        case "Dropout":
            let x = try one(), scale = try l.float(0, 1)
            output(l, scale == 1 ? x : add(.activation(.linear(scale: scale, shift: 0)), [x], l.name))
        case "Convolution", "ConvolutionDepthWise":
            try convolution(l, x: try one(), depthwise: l.type == "ConvolutionDepthWise")
        case "Deconvolution", "DeconvolutionDepthWise":
            try deconvolution(l, x: try one(), depthwise: l.type == "DeconvolutionDepthWise")
        case "InnerProduct":
            try innerProduct(l, x: try one())
        case "ReLU":
            let slope = try l.float(0, 0)
            output(l, add(.activation(slope == 0 ? .relu : .leakyRelu(slope)), [try one()], l.name))
        case "PReLU":
            let x = try one()
            let n = try l.int(0, 0)
            guard n >= 1 else { throw l.fail("num_slope must be at least 1") }
            let slopes = try load(n, type: 1, l, "slopes").values
            output(l, add(.activation(n == 1 ? .leakyRelu(slopes[0]) : .prelu(slopes)), [x], l.name))
        case "Sigmoid": output(l, add(.activation(.sigmoid), [try one()], l.name))
        case "TanH": output(l, add(.activation(.tanh), [try one()], l.name))
        case "Swish": output(l, add(.activation(.swish), [try one()], l.name))
        case "Mish": output(l, add(.activation(.mish), [try one()], l.name))
        case "Clip":
            let lo = try l.float(0, -Float.greatestFiniteMagnitude), hi = try l.float(1, Float.greatestFiniteMagnitude)
            output(l, add(.activation(.clip(lo, hi)), [try one()], l.name))
        case "GELU":
            guard try l.int(0, 0) == 0 else { throw l.fail("fast_gelu=1 (tanh approximation) is not supported") }
            output(l, add(.activation(.gelu), [try one()], l.name))
        case "MemoryData":
            let w = try l.int(0, 0), h = try l.int(1, 0), d = try l.int(11, 0), c = try l.int(2, 0)
            guard d <= 1 else { throw l.fail("4-D constants are not supported") }
            guard let count = Checked.product([max(w, 1), max(h, 1), max(c, 1)]) else {
                throw l.fail("a \(w)x\(h)x\(c) constant is too large")
            }
            let values = try load(count, type: try l.int(21, 1), l, "data").values
            for t in l.tops { blobs[t] = .constant(values, w: max(w, 1), h: max(h, 1), c: max(c, 1)) }
        case "BinaryOp":
            try binaryOp(l)
        case "Eltwise":
            try eltwise(l)
        case "Concat":
            let axis = try l.int(0, 0)
            guard axis == 0 || axis == -3 else { throw l.fail("concatenation along axis \(axis); only channels (0) are supported") }
            output(l, add(.concat, try l.bottoms.map { try node($0, l) }, l.name))
        case "PixelShuffle":
            let r = try l.int(0, 1)
            guard try l.int(1, 0) == 0 else { throw l.fail("mode 1 (DCR channel order) is not supported") }
            guard (1...GraphLimits.maxUpscaleFactor).contains(r) else { throw l.fail("upscale_factor \(r) is outside 1...\(GraphLimits.maxUpscaleFactor)") }
            let x = try one()
            output(l, r == 1 ? x : add(.pixelShuffle(r), [x], l.name))
        case "Interp":
            try interp(l)
        case "Crop":
            try crop(l)
        case "Padding":
            let x = try one()
            let top = try l.int(0, 0), bottom = try l.int(1, 0), left = try l.int(2, 0), right = try l.int(3, 0)
            guard try l.int(6, 0) == 0, try l.int(7, 0) == 0, try l.int(8, 0) == 0 else {
                throw l.fail("per-channel values and channel (front/behind) padding are not supported")
            }
            let mode: Padding.Mode
            switch try l.int(4, 0) {
            case 0: mode = .constant(try l.float(5, 0))
            case 1: mode = .replicate
            case 2: mode = .reflect
            case let t: throw l.fail("padding type \(t) is not supported")
            }
            output(l, add(.pad(Padding(top: top, left: left, bottom: bottom, right: right, mode: mode)), [x], l.name))
        case "Pooling":
            try pooling(l, x: try one())
        case "BatchNorm":
            let x = try one()
            let c = try l.int(0, 0), eps = try l.float(1, 0)
            guard c >= 1 else { throw l.fail("channels \(c)") }
            let slope = try load(c, type: 1, l, "slopes").values, mean = try load(c, type: 1, l, "means").values
            let variance = try load(c, type: 1, l, "variances").values, bias = try load(c, type: 1, l, "biases").values
            let a = (0..<c).map { slope[$0] / (variance[$0] + eps).squareRoot() }
            output(l, add(.channelAffine(scale: a, shift: (0..<c).map { bias[$0] - mean[$0] * a[$0] }), [x], l.name))
        case "Scale":
            try scale(l)
        default:
            throw l.fail("unsupported layer type '\(l.type)' (supported: \(NCNNImporter.supported.joined(separator: ", ")))")
        }
    }

    /// Per-channel (or single) values of a MemoryData constant for broadcasting, as ncnn does for
    /// c x 1 x 1 and 1-D constants.
    private static func channelValues(_ v: Value, _ l: NCNNLayer) throws -> [Float] {
        guard case .constant(let values, let w, let h, let c) = v else { preconditionFailure() }
        if values.count == 1 || (w == 1 && h == 1) || (h == 1 && c == 1) { return values }
        throw l.fail("a \(w)x\(h)x\(c) constant operand is not supported (only per-channel or single values)")
    }

    private mutating func binaryOp(_ l: NCNNLayer) throws {
        let op = try l.int(0, 0)
        let names = ["add", "sub", "mul", "div", "max", "min", "pow", "rsub", "rdiv", "rpow", "atan2", "ratan2"]
        let opName = op >= 0 && op < names.count ? names[op] : "\(op)"
        if try l.int(1, 0) != 0 {
            guard l.bottoms.count == 1 else { throw l.fail("with_scalar takes 1 input") }
            let x = try node(l.bottoms[0], l), b = try l.float(2, 0)
            let a: Activation
            switch op {
            case 0: a = .linear(scale: 1, shift: b)
            case 1: a = .linear(scale: 1, shift: -b)
            case 2: a = .linear(scale: b, shift: 0)
            case 3: a = .linear(scale: 1 / b, shift: 0)
            case 4: a = .clip(b, Float.greatestFiniteMagnitude)
            case 5: a = .clip(-Float.greatestFiniteMagnitude, b)
            case 7: a = .linear(scale: -1, shift: b)
            default: throw l.fail("scalar BinaryOp '\(opName)' is not supported")
            }
            output(l, add(.activation(a), [x], l.name))
            return
        }
        guard l.bottoms.count == 2 else { throw l.fail("BinaryOp takes 2 inputs, has \(l.bottoms.count)") }
        guard let va = blobs[l.bottoms[0]], let vb = blobs[l.bottoms[1]] else { throw l.fail("reads an unknown blob") }
        switch (va, vb) {
        case (.node(let x), .constant), (.constant, .node(let x)):
            let constantFirst: Bool
            if case .constant = va { constantFirst = true } else { constantFirst = false }
            let c = try NCNNImporter.channelValues(constantFirst ? va : vb, l)
            let affine: (scale: [Float], shift: [Float])
            switch (op, constantFirst) {
            case (0, _): affine = ([1], c)
            case (2, _): affine = (c, [0])
            case (1, false), (7, true): affine = ([1], c.map { -$0 })
            case (1, true), (7, false): affine = ([-1], c)
            case (3, false), (8, true): affine = (c.map { 1 / $0 }, [0])
            default: throw l.fail("BinaryOp '\(opName)' with a constant operand is not supported")
            }
            output(l, add(.channelAffine(scale: affine.scale, shift: affine.shift), [x], l.name))
        case (.node(var a), .node(var b)):
            // Our broadcast operand (N x C x 1 x 1) goes second.
            if global.contains(a) && !global.contains(b) && (op == 0 || op == 2) { swap(&a, &b) }
            switch op {
            case 0: output(l, add(.add, [a, b], l.name))
            case 2: output(l, add(.mul, [a, b], l.name))
            case 1, 7:
                let (p, q) = op == 1 ? (a, b) : (b, a)
                let negated = add(.activation(.linear(scale: -1, shift: 0)), [q], l.name + ".neg")
                output(l, add(.add, [p, negated], l.name))
            default: throw l.fail("BinaryOp '\(opName)' of two tensors is not supported (add, sub, mul are)")
            }
        default:
            throw l.fail("BinaryOp of two constants is not supported")
        }
    }

    private mutating func eltwise(_ l: NCNNLayer) throws {
        let op = try l.int(0, 1)
        var xs = try l.bottoms.map { try node($0, l) }
        guard xs.count >= 2 else { throw l.fail("Eltwise takes at least 2 inputs") }
        switch op {
        case 0:
            var y = xs[0]
            for (k, x) in xs.dropFirst().enumerated() { y = add(.mul, [y, x], "\(l.name).\(k)") }
            output(l, y)
        case 1:
            let coeffs = try l.array(1) ?? []
            guard coeffs.isEmpty || coeffs.count == xs.count else { throw l.fail("\(coeffs.count) coefficients for \(xs.count) inputs") }
            for (k, c) in coeffs.enumerated() where c != 1 {
                xs[k] = add(.activation(.linear(scale: c, shift: 0)), [xs[k]], "\(l.name).coeff\(k)")
            }
            var y = xs[0]
            for (k, x) in xs.dropFirst().enumerated() { y = add(.add, [y, x], "\(l.name).\(k)") }
            output(l, y)
        default:
            throw l.fail("Eltwise op_type \(op) (max) is not supported")
        }
    }

    private mutating func interp(_ l: NCNNLayer) throws {
        guard l.bottoms.count == 1 else { throw l.fail("Interp to the size of another blob is not supported") }
        let x = try node(l.bottoms[0], l)
        let type = try l.int(0, 0)
        let sy = try l.float(1, 1), sx = try l.float(2, 1)
        guard try l.int(3, 0) == 0, try l.int(4, 0) == 0, try l.int(5, 0) == 0 else {
            throw l.fail("Interp to a fixed or dynamic output size is not supported (the network must scale by factors)")
        }
        let factors: ClosedRange<Float> = (1 / GraphLimits.maxResizeFactor)...GraphLimits.maxResizeFactor
        guard factors.contains(sy), factors.contains(sx) else {
            throw l.fail("scale factors \(sy), \(sx) are outside \(factors.lowerBound)...\(factors.upperBound)")
        }
        let align = try l.int(6, 0) != 0
        let mode: Resize.Mode
        switch type {
        case 1: mode = .nearest
        case 2: mode = .bilinear
        case 3: mode = .bicubic
        default: throw l.fail("resize_type \(type) is not supported (1 nearest, 2 bilinear, 3 bicubic)")
        }
        if sy == 1 && sx == 1 && !align { output(l, x); return }
        if mode == .nearest && sy == sx && sy == sy.rounded() {
            output(l, add(.nearestUpsample(Int(sy)), [x], l.name))
            return
        }
        output(l, add(.resize(Resize(mode: mode, scaleY: sy, scaleX: sx, alignCorners: align)), [x], l.name))
    }

    private mutating func crop(_ l: NCNNLayer) throws {
        let x = try node(l.bottoms.first ?? "", l)
        if l.bottoms.count == 2 {
            let ref = try node(l.bottoms[1], l)
            let w = try l.int(0, 0), h = try l.int(1, 0)
            guard w >= 0, h >= 0, try l.int(2, 0) == 0 else { throw l.fail("offsets \(w), \(h) (channel or dynamic) are not supported") }
            output(l, add(.cropLike(top: h, left: w), [x, ref], l.name))
            return
        }
        guard l.bottoms.count == 1 else { throw l.fail("Crop takes 1 or 2 inputs") }
        var edges = [0, 0, 0, 0]   // top, left, bottom, right
        if let starts = try l.array(9), let ends = try l.array(10) {
            let axes = try l.array(11) ?? (0..<starts.count).map(Float.init)
            guard axes.count == starts.count, ends.count == starts.count else { throw l.fail("starts, ends and axes differ in length") }
            for (k, axisValue) in axes.enumerated() {
                let a = try l.integer(axisValue, "axis")
                let axis = a < 0 ? a + 3 : a
                let start = try l.integer(starts[k], "slice start"), end = try l.integer(ends[k], "slice end")
                let untilEnd = end >= (1 << 29)   // INT_MAX: to the end
                if axis == 0 && start == 0 && untilEnd { continue }
                guard axis == 1 || axis == 2, start >= 0, untilEnd || end < 0 else {
                    throw l.fail("slice \(start)..<\(end) on axis \(axis): only H and W cropped by fixed margins are supported")
                }
                edges[axis - 1] = start
                edges[axis + 1] = untilEnd ? 0 : -end
            }
        } else {
            let w = try l.int(0, 0), h = try l.int(1, 0), outw = try l.int(3, 0), outh = try l.int(4, 0)
            // -233 = what remains after both offsets (woffset, woffset2); ncnn rejects 0.
            guard try l.int(2, 0) == 0, try l.int(5, 0) == -233, try l.int(8, 0) == 0 else {
                throw l.fail("channel cropping is not supported (coffset 0, outc -233 are)")
            }
            guard outw == -233, outh == -233 else {
                throw l.fail("a fixed output size (\(outw)x\(outh)) is not supported; crop by margins (outw=outh=-233)")
            }
            edges = [h, w, try l.int(7, 0), try l.int(6, 0)]
        }
        output(l, edges == [0, 0, 0, 0] ? x : add(.crop(top: edges[0], left: edges[1], bottom: edges[2], right: edges[3]), [x], l.name))
    }

    private mutating func scale(_ l: NCNNLayer) throws {
        let size = try l.int(0, 0), hasBias = try l.int(1, 0) != 0
        let x = try node(l.bottoms.first ?? "", l)
        if size == -233 {
            guard l.bottoms.count == 2 else { throw l.fail("scale from a blob needs 2 inputs") }
            let s = try node(l.bottoms[1], l)
            guard global.contains(s) else { throw l.fail("the scale blob must be per-channel (after global pooling)") }
            // ncnn loads no weights for a scale blob (Scale::load_model returns early).
            guard !hasBias else { throw l.fail("a bias with a scale blob is not supported") }
            output(l, add(.mul, [x, s], l.name))
            return
        }
        guard size >= 1 else { throw l.fail("scale_data_size \(size)") }
        let a = try load(size, type: 1, l, "scales").values
        let b = hasBias ? try load(size, type: 1, l, "biases").values : [0]
        output(l, add(.channelAffine(scale: a, shift: b), [x], l.name))
    }
}
