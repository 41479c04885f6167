import Foundation
import Testing
@testable import UpresEngine

/// Elementwise chains (`Operation.elementwise`): what `Graph.fused()` folds, and oneDNN's result
/// against the reference, including the chains oneDNN 2.6 gets wrong when fused whole.
@Suite("Elementwise chains fused into one pass")
struct ElementwiseFusionTests {
    typealias Op = UpresEngine.Operation

    /// input -> conv (C channels, read twice so nothing fuses into it) -> the chain -> + a second
    /// reader of the conv (or, `viaConv`, the chain right after a conv that only it reads).
    static func graph(channels c: Int, chain: [Op], viaConv: Bool) -> Graph {
        let w = Tensor(random: .init(c, 3, 3, 3), seed: UInt64(c), in: -0.5...0.5)
        var nodes = [Node(op: .input, inputs: [], name: "in"),
                     Node(op: .conv(Convolution(weights: w, bias: nil)), inputs: [0], name: "c")]
        if viaConv {
            nodes.append(Node(op: .conv(Convolution(weights: w, bias: nil)), inputs: [0], name: "other"))
        } else {
            nodes.append(Node(op: .activation(.relu), inputs: [1], name: "other"))
        }
        var last = 1
        for (j, op) in chain.enumerated() {
            nodes.append(Node(op: op, inputs: [last], name: "a\(j)"))
            last = nodes.count - 1
        }
        nodes.append(Node(op: .add, inputs: [last, 2], name: "sum"))
        return Graph(nodes: nodes, output: nodes.count - 1)
    }

    static let chains: [(String, [Op])] = [
        ("sigmoid, 1 - x", [.activation(.sigmoid), .activation(.linear(scale: -1, shift: 1))]),
        ("-x, sigmoid, 1 - x (two linears)", [.activation(.linear(scale: -1, shift: 0)), .activation(.sigmoid),
                                              .activation(.linear(scale: -1, shift: 1))]),
        ("tanh, swish, mish", [.activation(.tanh), .activation(.swish), .activation(.mish)]),
        ("six linears", (0..<6).map { .activation(.linear(scale: 1 + Float($0) / 4, shift: 0.5 - Float($0) / 8)) }),
        ("leaky relu, relu, clip, clip", [.activation(.leakyRelu(0.2)), .activation(.relu), .activation(.clip(-0.3, 0.4)),
                                          .activation(.clip(-0.1, 0.2))]),
    ]

    @Test("oneDNN matches the reference on fused chains, after convolutions and on their own",
          arguments: [false, true])
    func chainsMatchReference(viaConv: Bool) throws {
        let precisions = Precision.allCases.filter { $0.isSupported && $0 != .int8 }
        for c in [8, 48] {
            for (name, chain) in Self.chains {
                let g = Self.graph(channels: c, chain: chain, viaConv: viaConv)
                let fused = g.fused()
                // Everything after the convolutions folds: into the first one, and the sum into
                // the second (`viaConv`), or into one elementwise node.
                #expect(fused.nodes.count == (viaConv ? 3 : 4), "\(name): \(fused.nodes.count) nodes")
                let x = Tensor(random: .init(1, 3, 20, 24), seed: 7, in: 0...1)
                let expected = try ReferenceExecutor.run(g, input: x)
                #expect(try ReferenceExecutor.run(fused, input: x).maxDifference(expected).absolute <= 1e-5)
                for p in precisions {
                    let got = try Session(model: Model(testGraph: fused), input: x.shape, precision: p).run(x)
                    let (d, scale) = got.maxDifference(expected)
                    #expect(d <= (p == .fp32 ? 1e-5 : 3e-2) * max(1, scale), "\(name), \(c) channels, \(p): \(d)")
                }
            }
        }
    }

    @Test("a SPAN block's attention (sigmoid, shift, residual add, multiply) runs as two passes, not four")
    func spanAttention() throws {
        let w = Tensor(random: .init(16, 16, 3, 3), seed: 3, in: -0.2...0.2)
        let nodes = [
            Node(op: .input, inputs: [], name: "x"),
            Node(op: .conv(Convolution(weights: w, bias: nil)), inputs: [0], name: "c3"),
            Node(op: .activation(.sigmoid), inputs: [1], name: "sigmoid"),
            Node(op: .activation(.linear(scale: 1, shift: -0.5)), inputs: [2], name: "sub"),
            Node(op: .add, inputs: [1, 0], name: "add"),
            Node(op: .mul, inputs: [4, 3], name: "mul"),
        ]
        let g = Graph(nodes: nodes, output: 5)
        let fused = g.fused()
        #expect(fused.nodes.map(\.name) == ["x", "c3", "sigmoid", "add"])
        #expect(fused.nodes[2].op == .elementwise(Elementwise(head: .activation(.sigmoid),
                                                              postOps: [.activation(.linear(scale: 1, shift: -0.5))])))
        #expect(fused.nodes[3].op == .elementwise(Elementwise(head: .add, postOps: [.mul(2)])))
        #expect(fused.receptiveField(scale: 1, channels: 16) == g.receptiveField(scale: 1, channels: 16))

        let x = Tensor(random: .init(1, 16, 19, 23), seed: 5, in: -1...1)
        let expected = try ReferenceExecutor.run(g, input: x)
        let session = try Session(model: Model(testGraph: fused), input: x.shape, precision: .fp32)
        #expect(try session.run(x).maxDifference(expected).absolute <= 1e-5)
        // input, conv, one binary primitive per chain, output.
        #expect(session.implementations.map(\.kind) == ["input", "conv 3x3", "activation", "add", "output"])
        #expect(!session.implementations.contains { $0.implementation.hasPrefix("ref") })
    }
}
