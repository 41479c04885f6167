import CDNNL
import CEngineShims

/// Fused post-ops and elementwise chains (`Operation.elementwise`) in oneDNN primitives.
extension Session {
    /// The attributes carrying `ops` as oneDNN post-ops, and the arguments they read (PReLU
    /// slopes, the other operand of adds and multiplies), numbered by their place in `ops`.
    func postOpAttributes(_ ops: [PostOp], values: [DNNLMemory]) throws -> (DNNLAttributes, [dnnl_exec_arg_t]) {
        let attr = try DNNLAttributes()
        let list = try DNNLPostOps()
        let po = list.handle
        var args: [dnnl_exec_arg_t] = []
        for (idx, p) in ops.enumerated() {
            switch p {
            case .activation(.prelu(let slopes)):
                try dnnl(dnnl_post_ops_append_prelu(po, 1 << 1), "prelu post-op")
                args.append(arg(Int32(upres_dnnl_arg_post_op(Int32(idx), DNNL_ARG_WEIGHTS)),
                                try constant(slopes, channels: slopes.count)))
            case .activation(let a):
                let (alg, alpha, beta) = Session.eltwise(a)!
                try dnnl(dnnl_post_ops_append_eltwise(po, 1, alg, alpha, beta), "eltwise post-op")
            case .add(let j), .mul(let j):
                var md = values[j].desc
                let alg = p == .add(j) ? dnnl_binary_add : dnnl_binary_mul
                try dnnl(dnnl_post_ops_append_binary(po, alg, &md), "binary post-op")
                args.append(arg(Int32(upres_dnnl_arg_post_op(Int32(idx), DNNL_ARG_SRC_1)), values[j]))
            }
        }
        try attr.set(list)
        return (attr, args)
    }

    /// How many of `ops`, from the first, one oneDNN primitive can carry. oneDNN 2.6 computes a
    /// chain wrongly when two eltwise post-ops of one algorithm have different parameters (two
    /// `linear`s, say: the second runs with the first's constants, in convolutions as in binary
    /// primitives), so a chain stops before the second; the rest runs as passes of their own.
    static func fusiblePrefix(_ ops: [PostOp]) -> Int {
        var seen: [(alg: dnnl_alg_kind_t, alpha: Float, beta: Float)] = []
        for (n, p) in ops.enumerated() {
            guard case .activation(let a) = p, let e = eltwise(a) else { continue }
            if seen.contains(where: { $0.alg == e.0 && ($0.alpha != e.1 || $0.beta != e.2) }) { return n }
            seen.append((e.0, e.1, e.2))
        }
        return ops.count
    }

    /// An elementwise chain as one binary primitive: the head (an activation runs as x + 0 with
    /// the activation as its first post-op, since oneDNN 2.6's eltwise primitive takes binary
    /// post-ops only), then the chain. What oneDNN cannot fuse, or fuses only in its reference
    /// kernel, runs as passes of their own, as in a convolution.
    func addElementwise(_ e: Elementwise, inputs: [DNNLMemory], dst: DNNLMemory, values: [DNNLMemory],
                        node: Int, channels: Int) throws {
        var chain = e.postOps
        let alg: dnnl_alg_kind_t, second: DNNLMemory
        let kind: String
        switch e.head {
        case .activation(let a):
            (alg, second, kind) = (dnnl_binary_mul, try constant([1], channels: 1), "activation")
            chain.insert(.activation(a), at: 0)
        case .add: (alg, second, kind) = (dnnl_binary_add, inputs[1], "add")
        case .mul: (alg, second, kind) = (dnnl_binary_mul, inputs[1], "mul")
        }
        var fused = Session.fusiblePrefix(chain)
        while fused > 0 {
            let (attr, postArgs) = try postOpAttributes(Array(chain.prefix(fused)), values: values)
            var d = dnnl_binary_desc_t()
            var amd = inputs[0].desc, bmd = second.desc, dmd = dst.desc
            try dnnl(dnnl_binary_desc_init(&d, alg, &amd, &bmd, &dmd), kind)
            if let pd = try makePrimitiveDesc(&d, attr, ctx, kind), !pd.isReference {
                let args = [arg(DNNL_ARG_SRC_0, inputs[0]), arg(DNNL_ARG_SRC_1, second), arg(DNNL_ARG_DST, dst)] + postArgs
                steps.append(Step(kind: kind, node: node, primitive: try DNNLPrimitive(pd, kind), args: args))
                break
            }
            fused -= 1
        }
        if fused == 0 {
            // Nothing fuses: the head on its own.
            switch e.head {
            case .activation(let a):
                try addActivation(a, src: inputs[0], dst: dst, node: node, channels: channels)
                fused = 1
            case .add: try addBinary(dnnl_binary_add, inputs[0], inputs[1], dst, kind: "add", node: node)
            case .mul: try addBinary(dnnl_binary_mul, inputs[0], inputs[1], dst, kind: "mul", node: node)
            }
        }
        for p in chain.dropFirst(fused) {
            switch p {
            case .activation(let a): try addActivation(a, src: dst, dst: dst, node: node, channels: channels)
            case .add(let j): try addBinary(dnnl_binary_add, dst, values[j], dst, kind: "add", node: node)
            case .mul(let j): try addBinary(dnnl_binary_mul, dst, values[j], dst, kind: "mul", node: node)
            }
        }
    }
}
