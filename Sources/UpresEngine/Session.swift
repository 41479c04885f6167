import Foundation
import CDNNL
import CEngineShims

/// One worker's compiled network for one input size: oneDNN primitives (layouts chosen by
/// oneDNN; weights packed once per model and shared, `PackedWeights`), activation buffers reused
/// by liveness, one OpenMP thread.
/// Create one per worker thread and input size; `run` it for every tile of that size.
///
///     let session = try Session(model: model, input: .init(1, 1, 180, 320), precision: .bf16)
///     let output = try session.run(tile)
public final class Session {
    public let model: Model
    public let inputShape: Tensor.Shape
    public let outputShape: Tensor.Shape
    public let precision: Precision
    /// Multiply-adds of one run.
    public let multiplyAdds: Int

    let ctx: DNNLContext
    /// oneDNN (OpenMP) threads inside this session.
    public let threads: Int
    var steps: [Step] = []
    /// Every memory the steps run on (each keeps its buffer alive).
    var memories: [DNNLMemory] = []
    /// Every node's output memory (NHWC), indexed as the fused graph.
    var valueMemories: [DNNLMemory] = []
    /// int8 sessions: the calibration, and int8 copies of f32 values that convolutions read.
    var calibration: Int8Calibration?
    /// int8 sessions: bf16 copies of f32 values that float convolutions read.
    var bf16Copies: [Int: DNNLMemory] = [:]
    var quantisedCopies: [Int: DNNLMemory] = [:]
    private let userInput: DNNLMemory
    private let userOutput: DNNLMemory
    private let inputBuffer: AlignedBuffer
    private let outputBuffer: AlignedBuffer

    /// Per-step timing, when enabled (for `upres bench`).
    public var profiling = false
    public private(set) var timeByKind: [String: Double] = [:]
    /// Multiply-adds of one run by layer kind (convolutions only), for GFLOPS per layer kind.
    public internal(set) var multiplyAddsByKind: [String: Int] = [:]

    struct Step {
        var kind: String
        var node: Int
        var primitive: DNNLPrimitive?
        var args: [dnnl_exec_arg_t]
        var host: (() -> Void)?
    }

    /// - Parameter calibration: int8 only; nil reads the model file's (`Int8Calibration(model:)`).
    public init(model: Model, input: Tensor.Shape, precision: Precision, threads: Int = 1,
                calibration: Int8Calibration? = nil) throws {
        OpenMP.setThreads(threads)
        self.threads = threads
        self.model = model
        self.inputShape = input
        self.precision = precision
        let graph = model.fusedGraph
        let shapes = try graph.shapes(input: input)
        outputShape = shapes[graph.output]
        multiplyAdds = try graph.multiplyAdds(input: input)
        ctx = try DNNLContext()
        let dt = precision == .bf16 ? dnnl_bf16 : dnnl_f32   // int8: f32 outside the int8 chains
        if precision == .int8 {
            guard let c = try calibration ?? Int8Calibration(model: model) else {
                throw ModelFileError("\(model.info.displayName): has no int8 calibration (metadata '\(Int8Calibration.metadataKey)'); "
                                     + "run upres calibrate on it, or use --precision bf16 or fp32")
            }
            self.calibration = c
        }

        inputBuffer = AlignedBuffer(size: input.count * 4)
        outputBuffer = AlignedBuffer(size: outputShape.count * 4)
        userInput = try DNNLMemory(MemoryDesc.make(Session.dims(input), dnnl_f32, dnnl_nchw), ctx, buffer: inputBuffer)
        userOutput = try DNNLMemory(MemoryDesc.make(Session.dims(outputShape), dnnl_f32, dnnl_nchw), ctx, buffer: outputBuffer)

        // Activation memories: NHWC in the session's precision, buffers reused once dead.
        let readers = Graph.readers(graph.nodes, output: graph.output)
        let lastUse = readers.enumerated().map { i, r in r.map { $0 < 0 ? Int.max : $0 }.max() ?? i }
        var values: [DNNLMemory] = []
        var free: [AlignedBuffer] = []
        var dying: [[AlignedBuffer]] = Array(repeating: [], count: graph.nodes.count)
        let storage = precision == .int8 ? Session.int8Storage(graph, floatNodes: self.calibration!.floatNodes) : []
        for (i, s) in shapes.enumerated() {
            let md = try MemoryDesc.make(Session.dims(s), storage.isEmpty ? dt : valueType(i, stored: storage[i]), dnnl_nhwc)
            let size = MemoryDesc.size(md)
            let pick = free.enumerated().filter { $0.element.size >= size }.min { $0.element.size < $1.element.size }
            let buffer: AlignedBuffer
            if let pick { buffer = pick.element; free.remove(at: pick.offset) } else { buffer = AlignedBuffer(size: size) }
            values.append(try DNNLMemory(md, ctx, buffer: buffer))
            if lastUse[i] != Int.max { dying[min(lastUse[i], graph.nodes.count - 1)].append(buffer) }
            free.append(contentsOf: dying[i])   // inputs whose last reader was node i
        }
        memories.append(contentsOf: values)
        valueMemories = values

        for (i, node) in graph.nodes.enumerated() {
            try compile(node: node, index: i, shapes: shapes, values: values, dt: dt)
        }
        // Final output to the caller's f32 NCHW buffer.
        try addReorder(from: values[graph.output], to: userOutput, kind: "output", node: graph.output)
        try shareScratchpad()
    }

    /// One scratchpad buffer for all steps (they run one after another), as large as the
    /// largest step needs, passed to every step that needs one.
    private func shareScratchpad() throws {
        let size = steps.compactMap { $0.primitive?.scratchpadSize }.max() ?? 0
        guard size > 0 else { return }
        let buffer = AlignedBuffer(size: size)
        for k in steps.indices {
            guard let p = steps[k].primitive, p.scratchpadSize > 0 else { continue }
            let memory = try DNNLMemory(p.scratchpad, ctx, buffer: buffer)
            memories.append(memory)
            steps[k].args.append(arg(DNNL_ARG_SCRATCHPAD, memory))
        }
    }

    static func dims(_ s: Tensor.Shape) -> [Int] { [s.n, s.c, s.h, s.w] }

    /// Runs the network on `input` (NCHW f32, `inputShape`); returns the output (NCHW f32).
    public func run(_ input: Tensor) throws -> Tensor {
        precondition(input.shape == inputShape, "session compiled for \(inputShape), got \(input.shape)")
        input.data.withUnsafeBufferPointer { inputBuffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count * 4) }
        try execute()
        let out = outputBuffer.pointer.assumingMemoryBound(to: Float.self)
        return Tensor(shape: outputShape, data: Array(UnsafeBufferPointer(start: out, count: outputShape.count)))
    }

    /// Runs on data already in `inputPointer`; the result is left in `outputPointer`.
    public var inputPointer: UnsafeMutablePointer<Float> { inputBuffer.pointer.assumingMemoryBound(to: Float.self) }
    public var outputPointer: UnsafePointer<Float> { UnsafePointer(outputBuffer.pointer.assumingMemoryBound(to: Float.self)) }

    /// - Parameter observe: called with each node's output (f32 NHWC) once its last step has
    ///   run (fp32 sessions only: calibration).
    public func execute(observing observe: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) throws {
        OpenMP.setThreads(threads)   // per calling thread; sessions may be run from worker threads
        precondition(observe == nil || precision == .fp32, "only fp32 sessions can be observed")
        for (k, step) in steps.enumerated() {
            let start = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            if let p = step.primitive { try p.execute(ctx, step.args) } else { step.host?() }
            if let observe, k + 1 == steps.count || steps[k + 1].node != step.node {
                dnnl_stream_wait(ctx.stream)
                let m = valueMemories[step.node]
                observe(step.node, UnsafeBufferPointer(start: m.handle.assumingMemoryBound(to: Float.self),
                                                      count: MemoryDesc.size(m.desc) / 4))
            }
            if profiling {
                dnnl_stream_wait(ctx.stream)
                timeByKind[step.kind, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
        }
        dnnl_stream_wait(ctx.stream)
    }

    public func resetProfile() { timeByKind = [:] }

    /// The oneDNN kernel chosen for each primitive (`brgconv:avx512_core`, `jit:uni`...).
    public var implementations: [(kind: String, implementation: String)] {
        steps.compactMap { s in s.primitive.map { (s.kind, $0.implementation) } }
    }

    // MARK: - Compilation

    func arg(_ a: Int32, _ m: DNNLMemory) -> dnnl_exec_arg_t { dnnl_exec_arg_t(arg: a, memory: m.memory) }

    private func compile(node: Node, index i: Int, shapes: [Tensor.Shape], values: [DNNLMemory], dt: dnnl_data_type_t) throws {
        let src = node.inputs.first.map { values[$0] }
        let dst = values[i]
        switch node.op {
        case .input:
            try addReorder(from: userInput, to: dst, kind: "input", node: i)
        case .conv(let c) where precision == .int8 && calibration!.floatNodes.contains(node.name):
            let (source, type) = try floatSource(node.inputs[0], values: values)
            try addConv(c, src: source, dst: dst, values: values, node: i, dt: type, inShape: shapes[node.inputs[0]], outShape: shapes[i])
        case .conv(let c) where precision == .int8:
            try addConvInt8(c, srcNode: node.inputs[0], node: i, values: values, inShape: shapes[node.inputs[0]], outShape: shapes[i])
        case .conv(let c):
            try addConv(c, src: src!, dst: dst, values: values, node: i, dt: dt, inShape: shapes[node.inputs[0]], outShape: shapes[i])
        case .activation(let a):
            try addActivation(a, src: src!, dst: dst, node: i, channels: shapes[i].c)
        case .elementwise(let e):
            try addElementwise(e, inputs: node.inputs.map { values[$0] }, dst: dst, values: values, node: i,
                               channels: shapes[i].c)
        case .add, .mul:
            try addBinary(node.op == .add ? dnnl_binary_add : dnnl_binary_mul, src!, values[node.inputs[1]], dst,
                          kind: node.op == .add ? "add" : "mul", node: i)
        case .concat:
            let pd = try DNNLPrimitiveDesc.concat(node.inputs.map { values[$0].desc }, into: dst.desc, ctx)
            var args = node.inputs.enumerated().map { arg(Int32(DNNL_ARG_MULTIPLE_SRC) + Int32($0.offset), values[$0.element]) }
            args.append(arg(DNNL_ARG_DST, dst))
            steps.append(Step(kind: "concat", node: i, primitive: try DNNLPrimitive(pd, "concat"), args: args))
        case .pixelShuffle(let r):
            let s = shapes[node.inputs[0]], o = shapes[i]
            let c = o.c
            let dims = [s.n, c, r, r, s.h, s.w]
            let srcMD = try MemoryDesc.strided(dims, [s.h * s.w * s.c, r * r, r, 1, s.w * s.c, s.c], dt)
            let dstMD = try MemoryDesc.strided(dims, [o.h * o.w * c, 1, o.w * c, c, r * o.w * c, r * c], dt)
            let from = try DNNLMemory(srcMD, ctx, viewing: src!)
            let to = try DNNLMemory(dstMD, ctx, viewing: dst)
            memories.append(from); memories.append(to)
            try addReorder(from: from, to: to, kind: "pixel shuffle", node: i)
        case .maxPool(let k, let st, let p):
            let s = shapes[node.inputs[0]], o = shapes[i]
            var d = dnnl_pooling_v2_desc_t()
            var smd = src!.desc, dmd = dst.desc
            let padR = [(o.h - 1) * st + k - s.h - p, (o.w - 1) * st + k - s.w - p].map { Int64(max(0, $0)) }
            try dnnl(dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_inference, dnnl_pooling_max, &smd, &dmd,
                                                       [Int64(st), Int64(st)], [Int64(k), Int64(k)], [0, 0],
                                                       [Int64(p), Int64(p)], padR), "max pool")
            try addSimple(&d, kind: "pool", node: i, args: [(DNNL_ARG_SRC, src!), (DNNL_ARG_DST, dst)])
        case .resizeBilinear, .nearestUpsample:
            var d = dnnl_resampling_desc_t()
            var smd = src!.desc, dmd = dst.desc
            let alg = node.op == .resizeBilinear ? dnnl_resampling_linear : dnnl_resampling_nearest
            try dnnl(dnnl_resampling_forward_desc_init(&d, dnnl_forward_inference, alg, nil, &smd, &dmd), "resampling")
            try addSimple(&d, kind: "resize", node: i, args: [(DNNL_ARG_SRC, src!), (DNNL_ARG_DST, dst)])
        case .meanPlusStd, .globalMean:
            let s = shapes[node.inputs[0]]
            let withStd = node.op == .meanPlusStd
            let bf = dt == dnnl_bf16
            let from = src!.handle, to = dst.handle
            steps.append(Step(kind: "statistics", node: i, primitive: nil, args: [], host: {
                ChannelStatistics.compute(from: from, to: to, pixels: s.h * s.w, channels: s.c, bf16: bf, withStd: withStd)
            }))
        case .channelScale(let w):
            let weights = try constant(w, channels: w.count)
            try addBinary(dnnl_binary_mul, src!, weights, dst, kind: "mul", node: i)
        case .deconv, .channelAffine, .channelPermute, .pad, .crop, .cropLike, .resize:
            try compileImported(node: node, index: i, shapes: shapes, values: values, dt: dt)
        }
    }

    /// A plain f32 [1, C, 1, 1] constant (PReLU slopes, channel weights).
    func constant(_ values: [Float], channels: Int) throws -> DNNLMemory {
        let buffer = AlignedBuffer(size: values.count * 4)
        values.withUnsafeBufferPointer { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count * 4) }
        let m = try DNNLMemory(MemoryDesc.make([1, channels, 1, 1], dnnl_f32, dnnl_nchw), ctx, buffer: buffer)
        memories.append(m)
        return m
    }

    func addSimple<D>(_ desc: inout D, kind: String, node: Int, attr: DNNLAttributes? = nil,
                              args: [(Int32, DNNLMemory)]) throws {
        guard let pd = try makePrimitiveDesc(&desc, attr, ctx, kind) else {
            throw DNNLError(status: dnnl_unimplemented.rawValue, context: kind)
        }
        steps.append(Step(kind: kind, node: node, primitive: try DNNLPrimitive(pd, kind), args: args.map { arg($0.0, $0.1) }))
    }

    func addReorder(from: DNNLMemory, to: DNNLMemory, kind: String, node: Int) throws {
        steps.append(Step(kind: kind, node: node, primitive: try reorderPrimitive(from.desc, to.desc),
                          args: [arg(DNNL_ARG_FROM, from), arg(DNNL_ARG_TO, to)]))
    }

    func reorderPrimitive(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) throws -> DNNLPrimitive {
        try DNNLPrimitive(try DNNLPrimitiveDesc.reorder(a, b, ctx), "reorder")
    }

    func addBinary(_ alg: dnnl_alg_kind_t, _ a: DNNLMemory, _ b: DNNLMemory, _ dst: DNNLMemory,
                           kind: String, node: Int) throws {
        var d = dnnl_binary_desc_t()
        var amd = a.desc, bmd = b.desc, dmd = dst.desc
        try dnnl(dnnl_binary_desc_init(&d, alg, &amd, &bmd, &dmd), kind)
        try addSimple(&d, kind: kind, node: node, args: [(DNNL_ARG_SRC_0, a), (DNNL_ARG_SRC_1, b), (DNNL_ARG_DST, dst)])
    }

    /// oneDNN eltwise algorithm, alpha and beta of an activation (nil: PReLU, which has weights).
    static func eltwise(_ a: Activation) -> (dnnl_alg_kind_t, Float, Float)? {
        switch a {
        case .relu: return (dnnl_eltwise_relu, 0, 0)
        case .leakyRelu(let s): return (dnnl_eltwise_relu, s, 0)
        case .gelu: return (dnnl_eltwise_gelu_erf, 0, 0)
        case .sigmoid: return (dnnl_eltwise_logistic, 0, 0)
        case .tanh: return (dnnl_eltwise_tanh, 0, 0)
        case .swish: return (dnnl_eltwise_swish, 1, 0)
        case .mish: return (dnnl_eltwise_mish, 0, 0)
        case .clip(let lo, let hi): return (dnnl_eltwise_clip_v2, lo, hi)
        case .linear(let a, let b): return (dnnl_eltwise_linear, a, b)
        case .prelu: return nil
        }
    }

    func addActivation(_ a: Activation, src: DNNLMemory, dst: DNNLMemory, node: Int, channels: Int) throws {
        var smd = src.desc
        if let (alg, alpha, beta) = Session.eltwise(a) {
            var d = dnnl_eltwise_desc_t()
            try dnnl(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_inference, alg, &smd, alpha, beta), "eltwise")
            try addSimple(&d, kind: "activation", node: node, args: [(DNNL_ARG_SRC, src), (DNNL_ARG_DST, dst)])
        } else if case .prelu(let slopes) = a {
            let w = try constant(slopes, channels: channels)
            var d = dnnl_prelu_desc_t()
            var wmd = w.desc
            try dnnl(dnnl_prelu_forward_desc_init(&d, dnnl_forward_inference, &smd, &wmd), "prelu")
            try addSimple(&d, kind: "activation", node: node,
                          args: [(DNNL_ARG_SRC, src), (DNNL_ARG_WEIGHTS, w), (DNNL_ARG_DST, dst)])
        }
    }

    /// The forward convolution descriptor of `c` from `src` to `dst`, weights of type `weights` in
    /// the layout oneDNN picks, an f32 bias input when `bias`; and the weight dims (oihw / goihw).
    func convolutionDesc(_ c: Convolution, src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t, weights: dnnl_data_type_t,
                         bias: Bool, inShape s: Tensor.Shape, outShape o: Tensor.Shape) throws -> (dnnl_convolution_desc_t, [Int]) {
        let k = c.kernel, g = c.groups
        let wdims = g == 1 ? [c.outChannels, c.inChannels, k, k] : [g, c.outChannels / g, c.inChannels / g, k, k]
        var wAny = try MemoryDesc.make(wdims, weights, dnnl_format_tag_any)
        var bmd = try MemoryDesc.make([c.outChannels], dnnl_f32, dnnl_a)
        var smd = src, dmd = dst
        let ek = (k - 1) * c.dilation + 1
        let padR = [(o.h - 1) * c.stride + ek - s.h - c.padding, (o.w - 1) * c.stride + ek - s.w - c.padding].map { Int64($0) }
        var d = dnnl_convolution_desc_t()
        let strides = [Int64(c.stride), Int64(c.stride)], dilates = [Int64(c.dilation - 1), Int64(c.dilation - 1)]
        let padL = [Int64(c.padding), Int64(c.padding)]
        let status = withUnsafePointer(to: &bmd) { b in
            dnnl_dilated_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, &smd, &wAny,
                                                       bias ? b : nil, &dmd, strides, dilates, padL, padR)
        }
        try dnnl(status, "\(weights == dnnl_s8 ? "int8 " : "")convolution \(wdims)")
        return (d, wdims)
    }

    private func addConv(_ c: Convolution, src: DNNLMemory, dst: DNNLMemory, values: [DNNLMemory], node: Int,
                         dt: dnnl_data_type_t, inShape s: Tensor.Shape, outShape o: Tensor.Shape) throws {
        let k = c.kernel
        let g = c.groups
        let hasBias = c.bias != nil
        var (d, wdims) = try convolutionDesc(c, src: src.desc, dst: dst.desc, weights: dt, bias: hasBias, inShape: s, outShape: o)

        // Post-ops; if oneDNN cannot fuse them, run them as separate primitives.
        var fusedPostOps = Array(c.postOps.prefix(Session.fusiblePrefix(c.postOps)))
        var pd: DNNLPrimitiveDesc? = nil
        var postArgs: [dnnl_exec_arg_t] = []
        while true {
            let attr: DNNLAttributes
            (attr, postArgs) = try postOpAttributes(fusedPostOps, values: values)
            if let made = try makePrimitiveDesc(&d, attr, ctx, "convolution") {
                // oneDNN falls back to its reference kernel for fusions its fast kernels lack
                // (PReLU post-ops in 2.6): a separate PReLU pass is far cheaper than that.
                if !made.isReference || fusedPostOps.isEmpty { pd = made; break }
            }
            guard !fusedPostOps.isEmpty else {
                throw DNNLError(status: dnnl_unimplemented.rawValue, context: "convolution \(wdims)")
            }
            fusedPostOps.removeLast()
        }
        let kind = g > 1 && g == c.outChannels ? "depthwise conv" : (k == 1 ? "conv 1x1" : "conv \(k)x\(k)")
        multiplyAddsByKind[kind, default: 0] += o.n * o.c * o.h * o.w * (c.inChannels / g) * k * k

        // Weights: reordered once per model from plain f32 to the layout and type the kernel wants.
        let wMem = try packedWeights(node: node, c.weights.data, dims: wdims, into: pd!.memoryDesc(dnnl_query_weights_md)) {
            try reorderPrimitive($0, $1)
        }
        var args = [arg(DNNL_ARG_SRC, src), arg(DNNL_ARG_WEIGHTS, wMem), arg(DNNL_ARG_DST, dst)]
        if let bias = c.bias { args.append(arg(DNNL_ARG_BIAS, try constantVector(bias))) }
        args += postArgs
        steps.append(Step(kind: kind, node: node, primitive: try DNNLPrimitive(pd!, kind), args: args))

        // Post-ops oneDNN could not fuse.
        for p in c.postOps.dropFirst(fusedPostOps.count) {
            switch p {
            case .activation(let a): try addActivation(a, src: dst, dst: dst, node: node, channels: o.c)
            case .add(let j): try addBinary(dnnl_binary_add, dst, values[j], dst, kind: "add", node: node)
            case .mul(let j): try addBinary(dnnl_binary_mul, dst, values[j], dst, kind: "mul", node: node)
            }
        }
    }

    func constantVector(_ v: [Float]) throws -> DNNLMemory {
        let buffer = AlignedBuffer(size: v.count * 4)
        v.withUnsafeBufferPointer { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count * 4) }
        let m = try DNNLMemory(MemoryDesc.make([v.count], dnnl_f32, dnnl_a), ctx, buffer: buffer)
        memories.append(m)
        return m
    }
}

/// Per-channel mean (+ population standard deviation) of an NHWC tensor, on the host.
enum ChannelStatistics {
    static func compute(from: UnsafeMutableRawPointer, to: UnsafeMutableRawPointer, pixels: Int, channels: Int,
                        bf16 isBF16: Bool, withStd: Bool) {
        var sum = [Double](repeating: 0, count: channels)
        var squares = [Double](repeating: 0, count: channels)
        var values = [Float](repeating: 0, count: channels)
        for p in 0..<pixels {
            if isBF16 {
                let row = from.assumingMemoryBound(to: UInt16.self) + p * channels
                for c in 0..<channels { values[c] = float(fromBF16: row[c]) }
            } else {
                let row = from.assumingMemoryBound(to: Float.self) + p * channels
                for c in 0..<channels { values[c] = row[c] }
            }
            for c in 0..<channels {
                let v = Double(values[c])
                sum[c] += v
                squares[c] += v * v
            }
        }
        for c in 0..<channels {
            let mean = sum[c] / Double(pixels)
            let variance = max(0, squares[c] / Double(pixels) - mean * mean)
            let r = Float(mean + (withStd ? variance.squareRoot() : 0))
            if isBF16 { to.assumingMemoryBound(to: UInt16.self)[c] = bf16(r) }
            else { to.assumingMemoryBound(to: Float.self)[c] = r }
        }
    }
}
