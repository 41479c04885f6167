import CDNNL
import CEngineShims

/// int8 compilation: convolutions run on u8 activations (zero points where negative) and s8 weights (one scale per
/// output channel) with s32 accumulation, and write int8 when only int8 convolutions read their
/// output, so a chain of convolutions stays in int8 from one layer to the next. Every other
/// value stays f32; a convolution reading one gets an int8 copy (a quantising reorder). The
/// convolutions the calibration names (`Int8Calibration.floatNodes`: those int8 hurts most) run
/// in bf16 (fp32 where the CPU has no bf16) on f32 values.
extension Session {
    /// Whether fused-graph node `i` is a convolution that an int8 session runs in int8.
    static func isInt8Conv(_ graph: Graph, _ i: Int, floatNodes: Set<String>) -> Bool {
        guard case .conv = graph.nodes[i].op else { return false }
        return !floatNodes.contains(graph.nodes[i].name)
    }

    /// Per fused-graph node: whether an int8 session stores its output as int8 (an int8
    /// convolution read only by int8 convolutions, as their source). A PReLU output stays f32:
    /// oneDNN 2.6's fast int8 kernels cannot fuse PReLU, so it runs as a pass of its own.
    static func int8Storage(_ graph: Graph, floatNodes: Set<String> = []) -> [Bool] {
        let readers = Graph.readers(graph.nodes, output: graph.output)
        return graph.nodes.indices.map { i in
            guard isInt8Conv(graph, i, floatNodes: floatNodes), case .conv(let own) = graph.nodes[i].op, !readers[i].isEmpty,
                  !own.postOps.contains(where: { if case .activation(.prelu) = $0 { return true }; return false }),
                  int8OutputFusible(own.postOps) else { return false }
            return readers[i].allSatisfy { r in
                guard r >= 0, isInt8Conv(graph, r, floatNodes: floatNodes), case .conv(let c) = graph.nodes[r].op,
                      graph.nodes[r].inputs.first == i else { return false }
                return !c.postOps.contains { if case .add(i) = $0 { return true }; if case .mul(i) = $0 { return true }; return false }
            }
        }
    }

    /// Whether a convolution writing int8 can carry all of `ops` in one primitive, with the
    /// output step (a `linear`) after them unless they fold into the output scales (see
    /// `fusiblePrefix`: a second `linear` of other constants would be computed wrongly).
    static func int8OutputFusible(_ ops: [PostOp]) -> Bool {
        let fold = ops.allSatisfy { if case .activation(let a) = $0 { return isHomogeneous(a) }; return false }
        let chain = fold ? ops : ops + [.activation(.linear(scale: .nan, shift: 0))]
        return fusiblePrefix(chain) == chain.count
    }

    func valueType(_ i: Int, stored int8: Bool) -> dnnl_data_type_t {
        int8 && calibration != nil ? dnnl_u8 : dnnl_f32
    }

    /// Value `j` as a convolution source: itself when stored in int8, else an int8 copy made
    /// by a reorder step (once, before the first convolution that reads it).
    private func int8Source(_ j: Int, values: [DNNLMemory]) throws -> DNNLMemory {
        let v = values[j]
        if v.desc.data_type != dnnl_f32 { return v }
        if let copy = quantisedCopies[j] { return copy }
        let q = calibration!.quantisation(j)
        let ndims = Int(v.desc.ndims)
        let dims = withUnsafeBytes(of: v.desc.dims) { Array($0.bindMemory(to: Int64.self).prefix(ndims)).map(Int.init) }
        let md = try MemoryDesc.make(dims, dnnl_u8, dnnl_nhwc)
        let buffer = AlignedBuffer(size: MemoryDesc.size(md))
        let copy = try DNNLMemory(md, ctx, buffer: buffer)
        memories.append(copy)
        let p = try scaledReorder(v.desc, md, scales: [1 / q.step], mask: 0, dstZeroPoint: q.zeroPoint)
        steps.append(Step(kind: "quantise", node: j, primitive: p, args: [arg(DNNL_ARG_FROM, v), arg(DNNL_ARG_TO, copy)]))
        quantisedCopies[j] = copy
        return copy
    }

    /// Value `j` (f32) as the source of a float convolution: a bf16 copy made by a reorder step
    /// (once, before the first reader), or itself where the CPU has no bf16.
    func floatSource(_ j: Int, values: [DNNLMemory]) throws -> (DNNLMemory, dnnl_data_type_t) {
        let v = values[j]
        guard Precision.bf16.isSupported else { return (v, dnnl_f32) }
        if let copy = bf16Copies[j] { return (copy, dnnl_bf16) }
        let ndims = Int(v.desc.ndims)
        let dims = withUnsafeBytes(of: v.desc.dims) { Array($0.bindMemory(to: Int64.self).prefix(ndims)).map(Int.init) }
        let md = try MemoryDesc.make(dims, dnnl_bf16, dnnl_nhwc)
        let buffer = AlignedBuffer(size: MemoryDesc.size(md))
        let copy = try DNNLMemory(md, ctx, buffer: buffer)
        memories.append(copy)
        try addReorder(from: v, to: copy, kind: "to bf16", node: j)
        bf16Copies[j] = copy
        return (copy, dnnl_bf16)
    }

    private func scaledReorder(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t, scales: [Float], mask: Int32,
                               dstZeroPoint: Int32 = 0) throws -> DNNLPrimitive {
        let attr = try DNNLAttributes()
        try dnnl(dnnl_primitive_attr_set_output_scales(attr.handle, Int64(scales.count), mask, scales), "reorder scales")
        if dstZeroPoint != 0 {
            try dnnl(dnnl_primitive_attr_set_zero_points(attr.handle, DNNL_ARG_DST, 1, 0, [dstZeroPoint]), "reorder zero point")
        }
        return try DNNLPrimitive(try DNNLPrimitiveDesc.reorder(a, b, ctx, attr), "reorder")
    }

    /// Activations with f(a x) = a f(x) for a > 0: the output step can be folded into the
    /// convolution's scales ahead of them.
    private static func isHomogeneous(_ a: Activation) -> Bool {
        switch a {
        case .relu, .leakyRelu, .prelu: return true
        case .linear(_, let shift): return shift == 0
        default: return false
        }
    }

    func addConvInt8(_ c: Convolution, srcNode j: Int, node: Int, values: [DNNLMemory],
                     inShape s: Tensor.Shape, outShape o: Tensor.Shape) throws {
        let src = try int8Source(j, values: values)
        let dst = values[node]
        let srcQ = calibration!.quantisation(j)
        let srcStep = srcQ.step
        let k = c.kernel, g = c.groups
        var (d, wdims) = try convolutionDesc(c, src: src.desc, dst: dst.desc, weights: dnnl_s8, bias: true, inShape: s, outShape: o)

        // Integer codes cannot carry NaN or infinity (fp32 and bf16 show them in the output):
        // damaged weights are refused here, by name.
        let badWeight = c.weights.data.contains { !$0.isFinite }
        if badWeight || (c.bias?.contains { !$0.isFinite } ?? false) {
            throw ModelFileError("\(model.info.displayName): \(model.fusedGraph.nodes[node].name) has a non-finite "
                                 + "\(badWeight ? "weight" : "bias") (NaN or infinity): the model file is damaged")
        }
        // Weight codes: w x 127 / max|w| per output channel; true conv = codes x srcStep x max|w| / 127.
        let perChannel = c.weights.data.count / c.outChannels
        let weightMax: [Float] = (0..<c.outChannels).map { oc in
            c.weights.data[(oc * perChannel)..<((oc + 1) * perChannel)].reduce(0) { Swift.max($0, abs($1)) }
        }
        let weightScales = weightMax.map { $0 > 0 ? 127 / $0 : 1 }
        let trueScale = weightScales.map { srcStep / $0 }

        // Output: int8 codes of the node's own step, or f32. Homogeneous activations let the
        // step fold into the scales; otherwise a final linear post-op divides by it.
        let int8Out = dst.desc.data_type != dnnl_f32
        let dstQ = int8Out ? calibration!.quantisation(node) : .init(step: 1, zeroPoint: 0)
        let dstStep = dstQ.step
        let fold = int8Out && c.postOps.allSatisfy { if case .activation(let a) = $0 { return Session.isHomogeneous(a) }; return false }
        let outputScales = trueScale.map { fold ? $0 / dstStep : $0 }

        // Post-ops: fused where oneDNN's fast int8 kernels can (with an f32 output, those they
        // cannot fuse, such as PReLU in 2.6, run as passes of their own: the reference kernel
        // they would otherwise fall back to is a hundred times slower).
        var fusedPostOps = int8Out ? c.postOps : Array(c.postOps.prefix(Session.fusiblePrefix(c.postOps)))
        var chosenPD: DNNLPrimitiveDesc? = nil
        var postArgs: [dnnl_exec_arg_t] = []
        var zeroPointArgs: [dnnl_exec_arg_t] = []
        while true {
            let attributes = try DNNLAttributes()
            let attr = attributes.handle
            try dnnl(dnnl_primitive_attr_set_output_scales(attr, Int64(outputScales.count), 1 << 1, outputScales), "int8 output scales")
            // Zero points are passed at run time (the form oneDNN's fast int8 kernels take).
            zeroPointArgs = []
            for (which, zp) in [(DNNL_ARG_SRC, srcQ.zeroPoint), (DNNL_ARG_DST, dstQ.zeroPoint)] where zp != 0 {
                try dnnl(dnnl_primitive_attr_set_zero_points(attr, which, 1, 0, [DNNL_RUNTIME_S32_VAL_REP]), "zero points")
                zeroPointArgs.append(arg(DNNL_ARG_ATTR_ZERO_POINTS | which, try int32Constant(zp)))
            }
            let ops = try DNNLPostOps()
            let po = ops.handle
            postArgs = []
            var index: Int32 = 0
            for p in fusedPostOps {
                switch p {
                case .activation(.prelu(let slopes)):
                    try dnnl(dnnl_post_ops_append_prelu(po, 1 << 1), "prelu post-op")
                    postArgs.append(arg(Int32(upres_dnnl_arg_post_op(index, DNNL_ARG_WEIGHTS)), try constant(slopes, channels: slopes.count)))
                case .activation(let a):
                    let (alg, alpha, beta) = Session.eltwise(a)!
                    try dnnl(dnnl_post_ops_append_eltwise(po, 1, alg, alpha, beta), "eltwise post-op")
                case .add(let r), .mul(let r):
                    var md = values[r].desc
                    let alg: dnnl_alg_kind_t
                    if case .add = p { alg = dnnl_binary_add } else { alg = dnnl_binary_mul }
                    try dnnl(dnnl_post_ops_append_binary(po, alg, &md), "binary post-op")
                    postArgs.append(arg(Int32(upres_dnnl_arg_post_op(index, DNNL_ARG_SRC_1)), values[r]))
                }
                index += 1
            }
            if int8Out && !fold { try dnnl(dnnl_post_ops_append_eltwise(po, 1, dnnl_eltwise_linear, 1 / dstStep, 0), "output step") }
            try attributes.set(ops)
            if let made = try makePrimitiveDesc(&d, attributes, ctx, "int8 convolution") {
                if !made.isReference || fusedPostOps.isEmpty || int8Out { chosenPD = made; break }
            }
            guard !fusedPostOps.isEmpty, !int8Out else {
                throw DNNLError(status: dnnl_unimplemented.rawValue, context: "int8 convolution \(wdims) with its post-ops")
            }
            fusedPostOps.removeLast()
        }
        let pd = chosenPD!
        let kind = g > 1 && g == c.outChannels ? "depthwise conv" : (k == 1 ? "conv 1x1" : "conv \(k)x\(k)")
        multiplyAddsByKind[kind, default: 0] += o.n * o.c * o.h * o.w * (c.inChannels / g) * k * k

        // Weights: quantised once per model, by a reorder with per-channel scales into the kernel's layout.
        let wMem = try packedWeights(node: node, c.weights.data, dims: wdims, into: pd.memoryDesc(dnnl_query_weights_md),
                                     scales: weightScales) {
            try scaledReorder($0, $1, scales: weightScales, mask: g == 1 ? 1 : 3)
        }
        // The bias is added to the s32 accumulator before the output scales: in its units.
        let bias = (c.bias ?? Array(repeating: 0, count: c.outChannels)).enumerated().map { $0.element / trueScale[$0.offset] }
        var args = [arg(DNNL_ARG_SRC, src), arg(DNNL_ARG_WEIGHTS, wMem), arg(DNNL_ARG_DST, dst),
                    arg(DNNL_ARG_BIAS, try constantVector(bias))]
        args += postArgs + zeroPointArgs
        steps.append(Step(kind: kind, node: node, primitive: try DNNLPrimitive(pd, kind), args: args))

        // Post-ops oneDNN could not fuse (f32 output).
        for p in c.postOps.dropFirst(fusedPostOps.count) {
            switch p {
            case .activation(let a): try addActivation(a, src: dst, dst: dst, node: node, channels: o.c)
            case .add(let j): try addBinary(dnnl_binary_add, dst, values[j], dst, kind: "add", node: node)
            case .mul(let j): try addBinary(dnnl_binary_mul, dst, values[j], dst, kind: "mul", node: node)
            }
        }
    }

    private func int32Constant(_ v: Int32) throws -> DNNLMemory {
        let buffer = AlignedBuffer(size: 4)
        buffer.pointer.storeBytes(of: v, as: Int32.self)
        let m = try DNNLMemory(MemoryDesc.make([1], dnnl_s32, dnnl_a), ctx, buffer: buffer)
        memories.append(m)
        return m
    }
}
