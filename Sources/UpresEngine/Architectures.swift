import Foundation

/// Builds graphs from a weights file, matching the PyTorch definitions in
/// `training/upres_train/archs/` tensor for tensor (proven by the golden tests).
struct GraphBuilder {
    let file: SafeTensorsFile
    var nodes: [Node] = []

    init(file: SafeTensorsFile) { self.file = file }

    mutating func add(_ op: Operation, _ inputs: [Int], _ name: String) -> Int {
        nodes.append(Node(op: op, inputs: inputs, name: name))
        return nodes.count - 1
    }

    func weight(_ name: String) throws -> Tensor { try file.tensor(name) }

    func has(_ name: String) -> Bool { file.entries[name] != nil }

    /// A conv named `prefix` (`prefix.weight`, optional `prefix.bias`).
    mutating func conv(_ x: Int, _ prefix: String, stride: Int = 1, groups: Int = 1, padding: Int? = nil,
                       weights override: Tensor? = nil) throws -> Int {
        let w = try override ?? weight("\(prefix).weight")
        guard w.shape.h == w.shape.w else { throw ModelFileError("\(prefix).weight is not a square kernel: \(w.shape)") }
        let bias = has("\(prefix).bias") ? try file.floats("\(prefix).bias") : nil
        if let b = bias, b.count != w.shape.n {
            throw ModelFileError("\(prefix).bias has \(b.count) values for \(w.shape.n) output channels")
        }
        return add(.conv(Convolution(weights: w, bias: bias, stride: stride, padding: padding, groups: groups)), [x], prefix)
    }

    /// Depthwise conv: groups = channels.
    mutating func depthwise(_ x: Int, _ prefix: String, stride: Int = 1) throws -> Int {
        let w = try weight("\(prefix).weight")
        return try conv(x, prefix, stride: stride, groups: w.shape.n)
    }

    /// Blueprint separable conv: 1x1 pointwise (no bias) then depthwise.
    mutating func bsconv(_ x: Int, _ prefix: String, stride: Int = 1, pointwise: Tensor? = nil) throws -> Int {
        let p = try conv(x, "\(prefix).pw", weights: pointwise)
        return try depthwise(p, "\(prefix).dw", stride: stride)
    }

    mutating func act(_ x: Int, _ name: String, _ kind: String, prefix: String) throws -> Int {
        let a: Activation
        switch kind {
        case "relu": a = .relu
        case "leakyrelu": a = .leakyRelu(0.1)
        case "gelu": a = .gelu
        case "tanh": a = .tanh
        case "sigmoid": a = .sigmoid
        case "prelu": a = .prelu(try file.floats("\(prefix).weight"))
        default: throw ModelFileError("unknown activation '\(kind)'")
        }
        return add(.activation(a), [x], name)
    }
}

enum Architectures {
    static let known = ["plain", "espcn", "fsrcnn", "conv_chain", "bsrn", "classifier"]

    static func build(arch: String, config: [String: Any], scale: Int, file: SafeTensorsFile) throws -> Graph {
        switch arch {
        case "plain", "espcn", "fsrcnn", "conv_chain": return try convChain(config: config, scale: scale, file: file)
        case "bsrn": return try bsrn(config: config, scale: scale, file: file)
        case "classifier": return try classifier(config: config, file: file)
        default: throw ModelFileError("unknown architecture '\(arch)' (known: \(known.joined(separator: ", ")))")
        }
    }

    /// Plain, ESPCN, FSRCNN: convs.i (+ acts.i) ... last conv, pixel shuffle, optional nearest skip.
    static func convChain(config: [String: Any], scale: Int, file: SafeTensorsFile) throws -> Graph {
        var b = GraphBuilder(file: file)
        let act = config["act"] as? String ?? "prelu"
        let skip = config["skip"] as? String ?? "nearest"
        var count = 0
        while b.has("convs.\(count).weight") { count += 1 }
        guard count >= 1 else { throw ModelFileError("no convs.0.weight tensor: not a conv-chain model") }
        let input = b.add(.input, [], "input")
        var y = input
        for i in 0..<count {
            y = try b.conv(y, "convs.\(i)")
            if i < count - 1 { y = try b.act(y, "acts.\(i)", act, prefix: "acts.\(i)") }
        }
        y = b.add(.pixelShuffle(scale), [y], "shuffle")
        if skip == "nearest" {
            let up = b.add(.nearestUpsample(scale), [input], "skip")
            y = b.add(.add, [y, up], "skip.add")
        }
        return Graph(nodes: b.nodes, output: y)
    }

    /// BSRN (see training/upres_train/archs/bsrn_arch.py).
    static func bsrn(config: [String: Any], scale: Int, file: SafeTensorsFile) throws -> Graph {
        var b = GraphBuilder(file: file)
        let blocks = config["num_blocks"] as? Int ?? 8
        let repeatCount = config["input_repeat"] as? Int ?? 4
        let attention = config["attention"] as? String ?? "cca"
        let skip = config["skip"] as? String ?? "none"
        guard (1...64).contains(repeatCount) else { throw ModelFileError("config input_repeat \(repeatCount) is outside 1...64") }
        guard (1...1024).contains(blocks) else { throw ModelFileError("config num_blocks \(blocks) is outside 1...1024") }
        let input = b.add(.input, [], "input")
        // The head's pointwise conv reads the input replicated `repeatCount` times along channels:
        // fold the replication into the weights (sum the weights of each copy).
        let pw = try b.weight("head.pw.weight")
        guard pw.shape.n >= 1, pw.shape.c >= 1, pw.shape.h == 1, pw.shape.w == 1, pw.shape.c % repeatCount == 0 else {
            throw ModelFileError("head.pw.weight \(pw.shape) is not a 1x1 convolution that fits input_repeat \(repeatCount)")
        }
        let cin = pw.shape.c / repeatCount
        var folded = Tensor(zeros: .init(pw.shape.n, cin, 1, 1))
        for o in 0..<pw.shape.n { for r in 0..<repeatCount { for i in 0..<cin { folded[o, i, 0, 0] += pw[o, r * cin + i, 0, 0] } } }
        let f0 = try b.bsconv(input, "head", pointwise: folded)
        var y = f0
        var outs: [Int] = []
        for k in 0..<blocks {
            let p = "blocks.\(k)"
            let x = y
            var distilled: [Int] = []
            var r = x
            for i in 0..<3 {
                distilled.append(b.add(.activation(.gelu), [try b.conv(r, "\(p).distill.\(i)")], "\(p).distill.\(i).act"))
                let c = try b.bsconv(r, "\(p).refine.\(i).conv")
                r = b.add(.activation(.gelu), [b.add(.add, [c, r], "\(p).refine.\(i).add")], "\(p).refine.\(i).act")
            }
            distilled.append(b.add(.activation(.gelu), [try b.bsconv(r, "\(p).last")], "\(p).last.act"))
            let cat = b.add(.concat, distilled, "\(p).concat")
            let condensed = try b.conv(cat, "\(p).condense")
            // ESA
            let reduced = try b.conv(condensed, "\(p).esa.reduce")
            let down = try b.bsconv(reduced, "\(p).esa.down", stride: 2)
            let pooled = b.add(.maxPool(kernel: 7, stride: 3, padding: 3), [down], "\(p).esa.pool")
            let conv = try b.bsconv(pooled, "\(p).esa.conv")
            let resized = b.add(.resizeBilinear, [conv, condensed], "\(p).esa.resize")
            let skipConv = try b.conv(reduced, "\(p).esa.skip")
            let sum = b.add(.add, [resized, skipConv], "\(p).esa.sum")
            let mask = b.add(.activation(.sigmoid), [try b.conv(sum, "\(p).esa.expand")], "\(p).esa.sigmoid")
            let esa = b.add(.mul, [condensed, mask], "\(p).esa.mul")
            // CCA or channel weights
            let attended: Int
            if attention == "cca" {
                let stats = b.add(.meanPlusStd, [esa], "\(p).attn.stats")
                let hidden = b.add(.activation(.relu), [try b.conv(stats, "\(p).attn.squeeze")], "\(p).attn.relu")
                let w = b.add(.activation(.sigmoid), [try b.conv(hidden, "\(p).attn.expand")], "\(p).attn.sigmoid")
                attended = b.add(.mul, [esa, w], "\(p).attn.mul")
            } else {
                attended = b.add(.channelScale(try file.floats("\(p).attn.weight")), [esa], "\(p).attn")
            }
            y = b.add(.add, [attended, x], "\(p).add")
            outs.append(y)
        }
        let cat = b.add(.concat, outs, "fuse.concat")
        let fused = b.add(.activation(.gelu), [try b.conv(cat, "fuse_conv")], "fuse_act")
        let body = b.add(.add, [try b.bsconv(fused, "fuse_bsconv"), f0], "fuse.add")
        var out = b.add(.pixelShuffle(scale), [try b.conv(body, "tail")], "shuffle")
        if skip == "nearest" {
            out = b.add(.add, [out, b.add(.nearestUpsample(scale), [input], "skip")], "skip.add")
        }
        return Graph(nodes: b.nodes, output: out)
    }

    /// Tile classifier: strided convs + act, global mean, 1x1 head -> N x classes x 1 x 1 logits.
    static func classifier(config: [String: Any], file: SafeTensorsFile) throws -> Graph {
        var b = GraphBuilder(file: file)
        let act = config["act"] as? String ?? "leakyrelu"
        var y = b.add(.input, [], "input")
        var i = 0
        while b.has("convs.\(i).weight") {
            y = try b.act(try b.conv(y, "convs.\(i)", stride: 2, padding: 1), "acts.\(i)", act, prefix: "acts.\(i)")
            i += 1
        }
        y = b.add(.globalMean, [y], "pool")
        y = try b.conv(y, "head")
        return Graph(nodes: b.nodes, output: y)
    }
}
