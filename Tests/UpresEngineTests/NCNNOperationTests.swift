import Foundation
import Testing
@testable import UpresEngine

/// The operations added for imported (ncnn) networks: oneDNN session vs the naive reference,
/// on odd sizes with fixed seeds (same check and tolerances as OperationTests).
@Suite("NCNN operations: oneDNN matches the reference")
struct NCNNOperationTests {
    static let precisions = OperationTests.precisions

    static func deconv(_ cin: Int, _ cout: Int, k: Int, stride: Int, padding: Int, groups: Int = 1, dilation: Int = 1,
                       bias: Bool = true, activation: Activation? = nil, seed: UInt64) -> Deconvolution {
        Deconvolution(weights: Tensor(random: .init(cout, cin / groups, k, k), seed: seed, in: -0.3...0.3),
                      bias: bias ? Tensor(random: .init(1, 1, 1, cout), seed: seed + 1, in: -0.2...0.2).data : nil,
                      stride: stride, padding: padding, groups: groups, dilation: dilation, activation: activation)
    }

    static func single(_ name: String, _ op: UpresEngine.Operation, input: Tensor.Shape = .init(1, 5, 13, 11), precision: Precision) throws {
        try OperationTests.check(name, input: input, precision: precision) { n in
            n.append(Node(op: op, inputs: [0], name: name)); return 1
        }
    }

    @Test("transposed convolutions", arguments: precisions)
    func deconvolutions(_ p: Precision) throws {
        try Self.single("k4 s2 p1", .deconv(Self.deconv(5, 7, k: 4, stride: 2, padding: 1, seed: 1)), precision: p)
        try Self.single("k2 s2 leaky", .deconv(Self.deconv(5, 6, k: 2, stride: 2, padding: 0, activation: .leakyRelu(0.1), seed: 2)),
                        precision: p)
        try Self.single("k4 s2 p3 (waifu2x)", .deconv(Self.deconv(5, 3, k: 4, stride: 2, padding: 3, seed: 3)), precision: p)
        try Self.single("k3 s1 depthwise no bias", .deconv(Self.deconv(5, 5, k: 3, stride: 1, padding: 1, groups: 5, bias: false, seed: 4)),
                        precision: p)
        try Self.single("k3 s3 prelu", .deconv(Self.deconv(5, 4, k: 3, stride: 3, padding: 0,
                                                           activation: .prelu([0.1, -0.2, 0.3, 0.05]), seed: 5)), precision: p)
        try Self.single("dilated", .deconv(Self.deconv(5, 4, k: 3, stride: 2, padding: 2, dilation: 2, seed: 6)), precision: p)
    }

    @Test("new activations, standalone and fused", arguments: precisions)
    func activations(_ p: Precision) throws {
        for a in [Activation.swish, .mish, .clip(-0.2, 0.3), .linear(scale: -1.5, shift: 0.25)] {
            for fuse in [false, true] {
                try OperationTests.check("\(a) fused=\(fuse)", precision: p, fuse: fuse) { n in
                    n.append(Node(op: .conv(OperationTests.conv(13, 11, k: 3, seed: 30)), inputs: [0], name: "c"))
                    n.append(Node(op: .activation(a), inputs: [1], name: "a"))
                    return 2
                }
            }
        }
    }

    @Test("channel maps", arguments: precisions)
    func channelMaps(_ p: Precision) throws {
        try Self.single("affine per channel", .channelAffine(scale: [1, -2, 0.5, 3, 0.1], shift: [0.1, 0.2, -0.3, 0, 1]), precision: p)
        try Self.single("affine shift only", .channelAffine(scale: [1], shift: [-0.45, -0.43, -0.4, 0.1, 0.2]), precision: p)
        try Self.single("affine uniform", .channelAffine(scale: [255], shift: [-3]), precision: p)
        try Self.single("permute", .channelPermute([2, 1, 0]), input: .init(1, 3, 9, 14), precision: p)
        try Self.single("permute 5", .channelPermute([4, 0, 3, 1, 2]), precision: p)
    }

    @Test("pad and crop", arguments: precisions)
    func padCrop(_ p: Precision) throws {
        try Self.single("replicate", .pad(Padding(top: 7, left: 2, bottom: 1, right: 4, mode: .replicate)), precision: p)
        try Self.single("reflect", .pad(Padding(top: 1, left: 3, bottom: 2, right: 0, mode: .reflect)), precision: p)
        try Self.single("constant", .pad(Padding(top: 0, left: 1, bottom: 3, right: 2, mode: .constant(0.5))), precision: p)
        try Self.single("zero", .pad(Padding(top: 2, left: 2, bottom: 2, right: 2, mode: .constant(0))), precision: p)
        try Self.single("crop", .crop(top: 1, left: 2, bottom: 3, right: 0), precision: p)
        try OperationTests.check("crop like", input: .init(1, 5, 13, 11), precision: p) { n in
            n.append(Node(op: .maxPool(kernel: 3, stride: 2, padding: 0), inputs: [0], name: "small"))
            n.append(Node(op: .cropLike(top: 2, left: 3), inputs: [0, 1], name: "crop"))
            n.append(Node(op: .add, inputs: [2, 1], name: "add"))
            return 3
        }
    }

    @Test("resizes", arguments: precisions)
    func resizes(_ p: Precision) throws {
        for r in [Resize(mode: .bilinear, scaleY: 2, scaleX: 3), Resize(mode: .bilinear, scaleY: 0.5, scaleX: 0.7),
                  Resize(mode: .bilinear, scaleY: 2, scaleX: 2, alignCorners: true),
                  Resize(mode: .bicubic, scaleY: 0.5, scaleX: 0.5), Resize(mode: .bicubic, scaleY: 2, scaleX: 1.5),
                  Resize(mode: .bicubic, scaleY: 0.75, scaleX: 0.75, alignCorners: true),
                  Resize(mode: .nearest, scaleY: 1.5, scaleX: 2.5)] {
            try Self.single("\(r)", .resize(r), precision: p)
        }
    }

    @Test("the receptive field of a chain, a shuffle, a resize and a U-Net step")
    func receptiveField() throws {
        func chain(_ extra: [UpresEngine.Operation], scale: Int) -> Int? {
            var nodes = [Node(op: .input, inputs: [], name: "in")]
            for i in 0..<3 { nodes.append(Node(op: .conv(OperationTests.conv(i == 0 ? 1 : 4, 4, k: 3, seed: 40)), inputs: [i], name: "c")) }
            for op in extra { nodes.append(Node(op: op, inputs: [nodes.count - 1], name: "x")) }
            return Graph(nodes: nodes, output: nodes.count - 1).receptiveField(scale: scale, channels: 1)
        }
        #expect(chain([.conv(OperationTests.conv(4, 1, k: 3, seed: 41))], scale: 1) == 9)
        #expect(chain([.conv(OperationTests.conv(4, 4, k: 3, seed: 42)), .pixelShuffle(2)], scale: 2) == 9)
        // x4 then bicubic x0.5: the cubic taps reach one more pixel.
        #expect(chain([.conv(OperationTests.conv(4, 16, k: 3, seed: 43)), .pixelShuffle(4),
                       .resize(Resize(mode: .bicubic, scaleY: 0.5, scaleX: 0.5))], scale: 2) == 11)
        // Valid 3x3 conv after a 1-pixel replicated border: same field as a padded one.
        var nodes = [Node(op: .input, inputs: [], name: "in"),
                     Node(op: .pad(Padding(top: 1, left: 1, bottom: 1, right: 1, mode: .replicate)), inputs: [0], name: "p")]
        var c = OperationTests.conv(1, 1, k: 3, seed: 44)
        c.padding = 0
        nodes.append(Node(op: .conv(c), inputs: [1], name: "c"))
        #expect(Graph(nodes: nodes, output: 2).receptiveField(scale: 1, channels: 1) == 3)
        nodes.append(Node(op: .globalMean, inputs: [2], name: "g"))
        nodes.append(Node(op: .mul, inputs: [2, 3], name: "se"))
        #expect(Graph(nodes: nodes, output: 4).receptiveField(scale: 1, channels: 1) == nil)
    }
}
