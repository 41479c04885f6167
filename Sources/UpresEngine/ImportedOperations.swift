/// Operations that imported networks (ncnn's Real-ESRGAN, SPAN, waifu2x) need beyond upres's own
/// architectures: their parameters and output shapes. The reference loops are in
/// ReferenceImported.swift, the oneDNN lowering in SessionImported.swift.

/// Transposed convolution (ncnn Deconvolution, PyTorch ConvTranspose2d): every input pixel adds
/// its kernel, scaled by its value, into the output at `stride` spacing; `padding` rows and
/// columns are then cut from each side:
/// out[o][y*s - p + ky*d][x*s - p + kx*d] += in[i][y][x] * weights[o][i][ky][kx].
public struct Deconvolution: Equatable, Sendable {
    /// cout x (cin / groups) x k x k (ncnn's order; oneDNN's deconvolution weights are the same).
    public var weights: Tensor
    public var bias: [Float]?
    public var stride: Int
    public var padding: Int
    public var groups: Int
    public var dilation: Int
    /// Applied to the output (ncnn's fused activation_type).
    public var activation: Activation?

    public init(weights: Tensor, bias: [Float]?, stride: Int, padding: Int, groups: Int = 1, dilation: Int = 1,
                activation: Activation? = nil) {
        self.weights = weights
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.dilation = dilation
        self.activation = activation
    }

    public var outChannels: Int { weights.shape.n }
    public var inChannels: Int { weights.shape.c * groups }
    public var kernel: Int { weights.shape.h }
}

/// A border around H and W.
public struct Padding: Equatable, Sendable {
    public enum Mode: Equatable, Sendable {
        case constant(Float)
        /// Edge pixels repeated (ncnn type 1, `BORDER_REPLICATE`).
        case replicate
        /// Mirrored without repeating the edge (ncnn type 2, PyTorch `reflect`).
        case reflect
    }
    public var top, left, bottom, right: Int
    public var mode: Mode

    public init(top: Int, left: Int, bottom: Int, right: Int, mode: Mode) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
        self.mode = mode
    }
}

/// Resize by fixed factors, as ncnn's Interp: output = Int(Float(size) * factor); source
/// coordinates from the actual size ratio, half-pixel centres unless `alignCorners`.
public struct Resize: Equatable, Sendable {
    public enum Mode: String, Equatable, Sendable {
        case nearest, bilinear
        /// Keys cubic, a = -0.75, edge pixels repeated (ncnn's and OpenCV's bicubic).
        case bicubic
    }
    public var mode: Mode
    public var scaleY: Float
    public var scaleX: Float
    public var alignCorners: Bool

    public init(mode: Mode, scaleY: Float, scaleX: Float, alignCorners: Bool = false) {
        self.mode = mode; self.scaleY = scaleY; self.scaleX = scaleX; self.alignCorners = alignCorners
    }

    public func outputSize(h: Int, w: Int) -> (Int, Int) { (Int(Float(h) * scaleY), Int(Float(w) * scaleX)) }
}

extension Graph {
    static func importedShape(_ op: Operation, _ ins: [Tensor.Shape], shapes: [Tensor.Shape],
                              fail: (String) -> GraphError) throws -> Tensor.Shape {
        let x = ins[0]
        switch op {
        case .deconv(let d):
            guard x.c == d.inChannels else { throw fail("deconvolution expects \(d.inChannels) channels, got \(x.c)") }
            let k = d.dilation * (d.kernel - 1) + 1
            let h = (x.h - 1) * d.stride + k - 2 * d.padding, w = (x.w - 1) * d.stride + k - 2 * d.padding
            guard h > 0, w > 0 else { throw fail("input \(x.h)x\(x.w) too small for the deconvolution") }
            return .init(x.n, d.outChannels, h, w)
        case .channelAffine(let a, let b):
            guard [1, x.c].contains(a.count), [1, x.c].contains(b.count) else {
                throw fail("\(a.count) scales and \(b.count) shifts for \(x.c) channels")
            }
            return x
        case .channelPermute(let order):
            guard order.count == x.c, Set(order) == Set(0..<x.c) else { throw fail("channel order \(order) for \(x.c) channels") }
            return x
        case .pad(let p):
            guard min(p.top, p.left, p.bottom, p.right) >= 0 else { throw fail("negative padding") }
            if p.mode == .reflect && (max(p.top, p.bottom) >= x.h || max(p.left, p.right) >= x.w) {
                throw fail("reflection padding \(p) does not fit \(x.h)x\(x.w)")
            }
            return .init(x.n, x.c, x.h + p.top + p.bottom, x.w + p.left + p.right)
        case .crop(let t, let l, let b, let r):
            let h = x.h - t - b, w = x.w - l - r
            guard min(t, l, b, r) >= 0, h > 0, w > 0 else { throw fail("crop \(t),\(l),\(b),\(r) of \(x.h)x\(x.w)") }
            return .init(x.n, x.c, h, w)
        case .cropLike(let t, let l):
            let ref = ins[1]
            guard ref.c == x.c, t >= 0, l >= 0, t <= x.h, l <= x.w, t + ref.h <= x.h, l + ref.w <= x.w else {
                throw fail("crop of \(x) at (\(t), \(l)) to the size of \(ref)")
            }
            return .init(x.n, x.c, ref.h, ref.w)
        case .resize(let r):
            let (h, w) = r.outputSize(h: x.h, w: x.w)
            guard h > 0, w > 0 else { throw fail("resize of \(x.h)x\(x.w) by \(r.scaleY)x\(r.scaleX) is empty") }
            if r.alignCorners && (h < 2 || w < 2) { throw fail("align-corners resize to \(h)x\(w)") }
            if r.mode == .bicubic && (x.h < 4 || x.w < 4) { throw fail("bicubic resize needs at least 4x4, got \(x.h)x\(x.w)") }
            return .init(x.n, x.c, h, w)
        default:
            preconditionFailure("not an imported operation: \(op)")
        }
    }

    /// Multiply-adds of a transposed convolution (every input pixel times every kernel tap).
    static func multiplyAdds(_ d: Deconvolution, input x: Tensor.Shape) -> Int {
        x.n * x.h * x.w * x.c * (d.outChannels / d.groups) * d.kernel * d.kernel
    }
}
