import Foundation
import Testing
@testable import UpresEngine

/// Every operation: oneDNN session vs the naive reference, on odd sizes with fixed seeds.
/// Tolerances: fp32 1e-5 relative to the output's largest magnitude; bf16 3e-2 (8-bit mantissa).
@Suite("oneDNN operations match the reference")
struct OperationTests {
    static func conv(_ cin: Int, _ cout: Int, k: Int, stride: Int = 1, groups: Int = 1, dilation: Int = 1,
                     bias: Bool = true, post: [PostOp] = [], seed: UInt64) -> Convolution {
        let w = Tensor(random: .init(cout, cin / groups, k, k), seed: seed, in: -0.3...0.3)
        let b = bias ? Tensor(random: .init(1, 1, 1, cout), seed: seed + 1, in: -0.2...0.2).data : nil
        return Convolution(weights: w, bias: b, stride: stride, groups: groups, dilation: dilation, postOps: post)
    }

    /// input -> [extra nodes built by `body`] ; returns (graph, input shape)
    static func check(_ name: String, input: Tensor.Shape = .init(1, 13, 17, 7), precision: Precision,
                      fuse: Bool = false, _ body: (inout [Node]) -> Int) throws {
        var nodes = [Node(op: .input, inputs: [], name: "input")]
        let out = body(&nodes)
        var graph = Graph(nodes: nodes, output: out)
        if fuse { graph = graph.fused() }
        let model = try TestModels.model(graph: graph)
        let x = Tensor(random: input, seed: 42, in: -1...1)
        let expected = try ReferenceExecutor.run(graph, input: x)
        let session = try Session(model: model, input: input, precision: precision)
        let got = try session.run(x)
        let (diff, scale) = got.maxDifference(expected)
        let tolerance: Float = precision == .fp32 ? 1e-5 : 3e-2
        #expect(diff <= tolerance * max(scale, 1), "\(name) \(precision): max diff \(diff), scale \(scale)")
    }

    /// bf16 is tested where this CPU has bf16 kernels (AVX-512 BF16); fp32 everywhere.
    /// int8 needs a calibration of each model (Int8Tests covers it on calibrated networks).
    static let precisions: [Precision] = Precision.allCases.filter { $0.isSupported && $0 != .int8 }

    @Test("convolutions", arguments: precisions)
    func convolutions(_ p: Precision) throws {
        try Self.check("conv3x3", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 11, k: 3, seed: 1)), inputs: [0], name: "c")); return 1 }
        try Self.check("conv1x1", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 5, k: 1, seed: 2)), inputs: [0], name: "c")); return 1 }
        try Self.check("conv5x5 no bias", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 4, k: 5, bias: false, seed: 3)), inputs: [0], name: "c")); return 1 }
        try Self.check("depthwise", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 13, k: 3, groups: 13, seed: 4)), inputs: [0], name: "c")); return 1 }
        try Self.check("stride 2", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 8, k: 3, stride: 2, seed: 5)), inputs: [0], name: "c")); return 1 }
        try Self.check("depthwise stride 2", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 13, k: 3, stride: 2, groups: 13, seed: 6)), inputs: [0], name: "c")); return 1 }
        try Self.check("dilation 2", precision: p) { n in n.append(Node(op: .conv(Self.conv(13, 6, k: 3, dilation: 2, seed: 7)), inputs: [0], name: "c")); return 1 }
        try Self.check("one input channel", input: .init(1, 1, 19, 23), precision: p) { n in
            n.append(Node(op: .conv(Self.conv(1, 16, k: 3, seed: 8)), inputs: [0], name: "c")); return 1
        }
    }

    @Test("activations, standalone and fused into the conv", arguments: precisions)
    func activations(_ p: Precision) throws {
        let acts: [Activation] = [.relu, .leakyRelu(0.1), .prelu((0..<11).map { Float($0) * 0.05 - 0.2 }), .gelu, .sigmoid, .tanh]
        for a in acts {
            for fuse in [false, true] {
                try Self.check("\(a) fused=\(fuse)", precision: p, fuse: fuse) { n in
                    n.append(Node(op: .conv(Self.conv(13, 11, k: 3, seed: 9)), inputs: [0], name: "c"))
                    n.append(Node(op: .activation(a), inputs: [1], name: "a"))
                    return 2
                }
            }
        }
    }

    @Test("residual add and attention multiply, standalone and fused", arguments: precisions)
    func binary(_ p: Precision) throws {
        for fuse in [false, true] {
            try Self.check("add fused=\(fuse)", precision: p, fuse: fuse) { n in
                n.append(Node(op: .conv(Self.conv(13, 13, k: 3, seed: 10)), inputs: [0], name: "c"))
                n.append(Node(op: .add, inputs: [1, 0], name: "add"))
                return 2
            }
            try Self.check("mul fused=\(fuse)", precision: p, fuse: fuse) { n in
                n.append(Node(op: .conv(Self.conv(13, 13, k: 1, seed: 11)), inputs: [0], name: "c"))
                n.append(Node(op: .activation(.sigmoid), inputs: [1], name: "s"))
                n.append(Node(op: .mul, inputs: [0, 2], name: "mul"))
                return 3
            }
        }
        try Self.check("channel attention (broadcast mul)", precision: p, fuse: true) { n in
            n.append(Node(op: .meanPlusStd, inputs: [0], name: "stats"))
            n.append(Node(op: .conv(Self.conv(13, 3, k: 1, post: [.activation(.relu)], seed: 12)), inputs: [1], name: "sq"))
            n.append(Node(op: .conv(Self.conv(3, 13, k: 1, post: [.activation(.sigmoid)], seed: 13)), inputs: [2], name: "ex"))
            n.append(Node(op: .mul, inputs: [0, 3], name: "mul"))
            return 4
        }
        try Self.check("channel scale", precision: p) { n in
            n.append(Node(op: .channelScale((0..<13).map { Float($0) / 7 - 0.9 }), inputs: [0], name: "cs")); return 1
        }
    }

    @Test("layout operations", arguments: precisions)
    func layout(_ p: Precision) throws {
        try Self.check("concat", precision: p) { n in
            n.append(Node(op: .conv(Self.conv(13, 5, k: 1, seed: 14)), inputs: [0], name: "a"))
            n.append(Node(op: .concat, inputs: [1, 0, 1], name: "cat"))
            return 2
        }
        for r in [2, 3, 4] {
            try Self.check("pixel shuffle x\(r)", precision: p) { n in
                n.append(Node(op: .conv(Self.conv(13, 2 * r * r, k: 3, seed: 15)), inputs: [0], name: "c"))
                n.append(Node(op: .pixelShuffle(r), inputs: [1], name: "ps"))
                return 2
            }
            try Self.check("nearest x\(r) + add", input: .init(1, 1, 17, 7), precision: p) { n in
                n.append(Node(op: .conv(Self.conv(1, r * r, k: 3, seed: 16)), inputs: [0], name: "c"))
                n.append(Node(op: .pixelShuffle(r), inputs: [1], name: "ps"))
                n.append(Node(op: .nearestUpsample(r), inputs: [0], name: "up"))
                n.append(Node(op: .add, inputs: [2, 3], name: "add"))
                return 4
            }
        }
        try Self.check("max pool 7/3/3", precision: p) { n in n.append(Node(op: .maxPool(kernel: 7, stride: 3, padding: 3), inputs: [0], name: "mp")); return 1 }
        try Self.check("bilinear resize", precision: p) { n in
            n.append(Node(op: .maxPool(kernel: 7, stride: 3, padding: 3), inputs: [0], name: "mp"))
            n.append(Node(op: .resizeBilinear, inputs: [1, 0], name: "rs"))
            return 2
        }
        try Self.check("global mean", precision: p) { n in n.append(Node(op: .globalMean, inputs: [0], name: "gm")); return 1 }
    }
}

extension OperationTests {
    /// The same operations on 16 and 24 channels (channel counts that fill SIMD blocks).
    @Test("whole-block channel counts", arguments: [16, 24])
    func wholeBlockChannels(_ c: Int) throws {
        let shape = Tensor.Shape(1, c, 17, 11)
        let p = Precision.fp32
        try Self.check("conv", input: shape, precision: p, fuse: true) { n in
            n.append(Node(op: .conv(Self.conv(c, c, k: 3, seed: 21)), inputs: [0], name: "c"))
            n.append(Node(op: .activation(.prelu((0..<c).map { Float($0) / Float(c) - 0.5 })), inputs: [1], name: "a"))
            n.append(Node(op: .conv(Self.conv(c, c, k: 3, groups: c, seed: 22)), inputs: [2], name: "dw"))
            n.append(Node(op: .add, inputs: [3, 0], name: "add"))
            n.append(Node(op: .conv(Self.conv(c, c / 2, k: 1, post: [.activation(.gelu)], seed: 23)), inputs: [4], name: "pw"))
            n.append(Node(op: .concat, inputs: [5, 4, 5], name: "cat"))
            n.append(Node(op: .conv(Self.conv(2 * c, c, k: 3, stride: 2, seed: 24)), inputs: [6], name: "s2"))
            n.append(Node(op: .maxPool(kernel: 7, stride: 3, padding: 3), inputs: [7], name: "mp"))
            n.append(Node(op: .resizeBilinear, inputs: [8, 4], name: "rs"))
            n.append(Node(op: .conv(Self.conv(c, c, k: 1, post: [.activation(.sigmoid)], seed: 25)), inputs: [9], name: "ex"))
            n.append(Node(op: .mul, inputs: [4, 10], name: "esa"))
            n.append(Node(op: .meanPlusStd, inputs: [11], name: "st"))
            n.append(Node(op: .conv(Self.conv(c, c, k: 1, post: [.activation(.sigmoid)], seed: 26)), inputs: [12], name: "w"))
            n.append(Node(op: .mul, inputs: [11, 13], name: "cca"))
            n.append(Node(op: .channelScale((0..<c).map { Float($0) / 9 }), inputs: [14], name: "cs"))
            n.append(Node(op: .conv(Self.conv(c, 4, k: 3, seed: 27)), inputs: [15], name: "tail"))
            n.append(Node(op: .pixelShuffle(2), inputs: [16], name: "ps"))
            return 17
        }
    }
}

enum TestModels {
    /// Wraps a hand-built graph as a Model (through a real safetensors round trip of nothing but metadata).
    static func model(graph: Graph) throws -> Model {
        Model(testGraph: graph)
    }
}
