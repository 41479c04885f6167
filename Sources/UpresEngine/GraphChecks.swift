/// Limits on what a model file may ask of the engine. Graphs come from files users download
/// anywhere (ncnn `.param`, safetensors), so every operation's parameters are checked before
/// a shape is computed: no division by zero, no integer overflow, no tensor larger than a
/// sane multiple of the input. Values far above any real super-resolution network, far below
/// what would exhaust memory.
public enum GraphLimits {
    /// Kernel side of convolutions, deconvolutions and pooling.
    public static let maxKernel = 64
    public static let maxStride = 64
    public static let maxDilation = 64
    /// Rows or columns added on one side (convolution padding, pad operations).
    public static let maxPadding = 1024
    /// Factor of pixel shuffles and nearest upsampling.
    public static let maxUpscaleFactor = 16
    /// Per-axis factor of fixed-factor resizes (both ways).
    public static let maxResizeFactor: Float = 16
    /// Elements of one intermediate tensor per input pixel. A 64-channel feature map at 16x the
    /// input's area (Real-ESRGAN x4) is 1024.
    public static let maxElementsPerInputPixel = 8192
    /// Floor of the per-tensor limit (for tiny probe inputs).
    public static let minElementLimit = 1 << 22

    /// The largest tensor a graph may make from `input`.
    static func elementLimit(_ input: Tensor.Shape) -> Int {
        let pixels = max(1, input.h) * max(1, input.w)
        let (limit, overflow) = pixels.multipliedReportingOverflow(by: maxElementsPerInputPixel)
        return overflow ? Int.max : max(minElementLimit, limit)
    }
}

/// Integer arithmetic on sizes read from files: nil instead of a trap on overflow.
enum Checked {
    static func product(_ values: [Int]) -> Int? {
        var p = 1
        for v in values {
            let (r, overflow) = p.multipliedReportingOverflow(by: v)
            if overflow { return nil }
            p = r
        }
        return p
    }

    static func sum(_ a: Int, _ b: Int) -> Int? {
        let (r, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : r
    }
}

extension Graph {
    /// Arity and parameters of a node, checked before its shape is computed.
    static func check(_ node: Node, inputs ins: [Tensor.Shape], fail: (String) -> GraphError) throws {
        func within(_ v: Int, _ range: ClosedRange<Int>, _ what: String) throws {
            guard range.contains(v) else { throw fail("\(what) \(v) is outside \(range.lowerBound)...\(range.upperBound)") }
        }
        func arity(_ n: Int) throws {
            guard ins.count == n else { throw fail("takes \(n) input\(n == 1 ? "" : "s"), has \(ins.count)") }
        }
        switch node.op {
        case .input:
            try arity(0)
        case .conv(let c):
            try arity(1)
            try checkWeights(c.weights.shape, bias: c.bias, groups: c.groups, fail: fail)
            try within(c.kernel, 1...GraphLimits.maxKernel, "kernel")
            try within(c.stride, 1...GraphLimits.maxStride, "stride")
            try within(c.dilation, 1...GraphLimits.maxDilation, "dilation")
            try within(c.padding, 0...GraphLimits.maxPadding, "padding")
            for p in c.postOps {
                if case .activation(.prelu(let s)) = p, s.isEmpty { throw fail("PReLU without slopes") }
            }
        case .deconv(let d):
            try arity(1)
            try checkWeights(d.weights.shape, bias: d.bias, groups: d.groups, fail: fail)
            try within(d.kernel, 1...GraphLimits.maxKernel, "kernel")
            try within(d.stride, 1...GraphLimits.maxStride, "stride")
            try within(d.dilation, 1...GraphLimits.maxDilation, "dilation")
            try within(d.padding, 0...GraphLimits.maxPadding, "padding")
        case .activation, .channelScale, .channelAffine, .channelPermute, .meanPlusStd, .globalMean:
            try arity(1)
        case .add, .mul, .resizeBilinear, .cropLike:
            try arity(2)
        case .elementwise(let e):
            if case .activation(.prelu) = e.head { throw fail("an elementwise chain cannot start with PReLU") }
            try arity(e.head == .add || e.head == .mul ? 2 : 1)
        case .concat:
            guard !ins.isEmpty else { throw fail("concatenation of nothing") }
        case .pixelShuffle(let r), .nearestUpsample(let r):
            try arity(1)
            try within(r, 1...GraphLimits.maxUpscaleFactor, "upscale factor")
        case .maxPool(let k, let s, let p):
            try arity(1)
            try within(k, 1...GraphLimits.maxKernel, "pooling kernel")
            try within(s, 1...GraphLimits.maxStride, "pooling stride")
            try within(p, 0...k, "pooling padding")
        case .pad(let p):
            try arity(1)
            for v in [p.top, p.left, p.bottom, p.right] { try within(v, 0...GraphLimits.maxPadding, "padding") }
        case .crop(let t, let l, let b, let r):
            try arity(1)
            for v in [t, l, b, r] { try within(v, 0...GraphLimits.maxPadding, "crop") }
        case .resize(let r):
            try arity(1)
            let range: ClosedRange<Float> = (1 / GraphLimits.maxResizeFactor)...GraphLimits.maxResizeFactor
            guard range.contains(r.scaleY), range.contains(r.scaleX) else {
                throw fail("resize factors \(r.scaleY) x \(r.scaleX) are outside \(range.lowerBound)...\(range.upperBound)")
            }
        }
    }

    /// Weights of a (de)convolution: every dimension at least 1, square kernel, groups dividing
    /// the output channels, one bias per output channel.
    static func checkWeights(_ w: Tensor.Shape, bias: [Float]?, groups: Int, fail: (String) -> GraphError) throws {
        guard w.n >= 1, w.c >= 1, w.h >= 1, w.w >= 1, w.h == w.w else { throw fail("weights of shape \(w)") }
        guard groups >= 1, w.n % groups == 0, Checked.product([w.c, groups]) != nil else {
            throw fail("\(groups) groups for \(w.n) output channels")
        }
        if let b = bias, b.count != w.n { throw fail("\(b.count) biases for \(w.n) output channels") }
    }

    /// A computed output shape: every dimension at least 1 and the element count within the limit.
    static func checkOutput(_ s: Tensor.Shape, limit: Int, fail: (String) -> GraphError) throws {
        guard s.n >= 1, s.c >= 1, s.h >= 1, s.w >= 1 else { throw fail("empty output \(s)") }
        guard let count = Checked.product([s.n, s.c, s.h, s.w]), count <= limit else {
            throw fail("output \(s) is too large (more than \(limit) values)")
        }
    }
}
