import Foundation

/// Architectures upres ships, described the way `training/` builds them, so the engine can
/// make a model of each with seeded random weights (benchmarks: speed does not depend on the
/// weight values) until trained weights are embedded.
public struct ArchitectureSpec: Sendable {
    public var name: String
    public var arch: String
    public var scale: Int
    /// Constructor arguments, as in the PyTorch definition (written to the `config` metadata).
    public var config: [String: AnyHashableSendable]
    public var summary: String

    public struct AnyHashableSendable: Sendable, Hashable {
        let value: String
        let isNumber: Bool
        public static func int(_ v: Int) -> Self { Self(value: String(v), isNumber: true) }
        public static func string(_ v: String) -> Self { Self(value: v, isNumber: false) }
        var json: String { isNumber ? value : "\"\(value)\"" }
    }

    func int(_ k: String, _ d: Int) -> Int { config[k].flatMap { Int($0.value) } ?? d }
    func string(_ k: String, _ d: String) -> String { config[k]?.value ?? d }

    var configJSON: String {
        "{" + config.keys.sorted().map { "\"\($0)\": \(config[$0]!.json)" }.joined(separator: ", ") + "}"
    }
}

public enum ModelZoo {
    static func spec(_ name: String, _ arch: String, _ scale: Int, _ summary: String,
                     _ config: [String: ArchitectureSpec.AnyHashableSendable]) -> ArchitectureSpec {
        var c = config
        c["scale"] = .int(scale)
        c["in_channels"] = .int(1)
        return ArchitectureSpec(name: name, arch: arch, scale: scale, config: c, summary: summary)
    }

    /// The architectures benchmarked by `upres bench` (luma, x2 unless named otherwise).
    public static let architectures: [ArchitectureSpec] = [
        spec("espcn-x2", "espcn", 2, "ESPCN (tiny)", ["act": .string("prelu"), "skip": .string("nearest")]),
        spec("fsrcnn-x2", "fsrcnn", 2, "FSRCNN(56,12,4) (tiny)", ["d": .int(56), "s": .int(12), "m": .int(4)]),
        spec("plain-x2-c16n4", "plain", 2, "plain 6 convs x 16 ch", ["channels": .int(16), "num_conv": .int(4), "act": .string("prelu")]),
        spec("plain-x2-c32n8", "plain", 2, "plain 10 convs x 32 ch", ["channels": .int(32), "num_conv": .int(8), "act": .string("prelu")]),
        spec("plain-x2-c64n16", "plain", 2, "plain 18 convs x 64 ch (SRVGGNetCompact size)",
             ["channels": .int(64), "num_conv": .int(16), "act": .string("prelu")]),
        spec("bsrn-s-x2", "bsrn", 2, "BSRN-S (48 ch, 5 ESDB)", ["channels": .int(48), "num_blocks": .int(5), "attention": .string("channel_weight")]),
        spec("bsrn-x2", "bsrn", 2, "BSRN (64 ch, 8 ESDB)", ["channels": .int(64), "num_blocks": .int(8), "attention": .string("cca")]),
        spec("plain-x4-c32n8", "plain", 4, "plain 10 convs x 32 ch, x4", ["channels": .int(32), "num_conv": .int(8), "act": .string("prelu")]),
    ]

    /// A model of `spec` with seeded random weights (uniform, +-1/sqrt(fan-in)).
    /// `metadata` is added to the file's metadata (e.g. `routing`, for tests of model families).
    public static func randomModel(_ spec: ArchitectureSpec, seed: UInt64 = 1, name: String? = nil,
                                   metadata extra: [String: String] = [:]) throws -> Model {
        var rng = SeededRandom(seed: seed)
        var tensors: [(String, Tensor)] = []
        func conv(_ name: String, _ cout: Int, _ cin: Int, _ k: Int, bias: Bool = true) {
            let bound = 1 / Float(cin * k * k).squareRoot()
            tensors.append(("\(name).weight", Tensor(shape: .init(cout, cin, k, k),
                                                     data: (0..<(cout * cin * k * k)).map { _ in rng.uniform(-bound...bound) })))
            if bias { tensors.append(("\(name).bias", Tensor(shape: .init(1, 1, 1, cout), data: (0..<cout).map { _ in rng.uniform(-bound...bound) }))) }
        }
        func prelu(_ name: String, _ c: Int) {
            tensors.append(("\(name).weight", Tensor(shape: .init(1, 1, 1, c), data: [Float](repeating: 0.25, count: c))))
        }
        let s = spec.scale, inC = 1
        switch spec.arch {
        case "plain", "espcn", "fsrcnn":
            var layers: [(Int, Int, Int)] = []
            if spec.arch == "plain" {
                let c = spec.int("channels", 32), n = spec.int("num_conv", 8)
                layers = [(inC, c, 3)] + Array(repeating: (c, c, 3), count: n) + [(c, inC * s * s, 3)]
            } else if spec.arch == "espcn" {
                layers = [(inC, 64, 5), (64, 32, 3), (32, inC * s * s, 3)]
            } else {
                let d = spec.int("d", 56), sh = spec.int("s", 12), m = spec.int("m", 4)
                layers = [(inC, d, 5), (d, sh, 1)] + Array(repeating: (sh, sh, 3), count: m) + [(sh, d, 1), (d, inC * s * s, 3)]
            }
            for (i, (cin, cout, k)) in layers.enumerated() {
                conv("convs.\(i)", cout, cin, k)
                if i < layers.count - 1 && spec.string("act", "prelu") == "prelu" { prelu("acts.\(i)", cout) }
            }
        case "bsrn":
            let c = spec.int("channels", 64), blocks = spec.int("num_blocks", 8), rep = spec.int("input_repeat", 4)
            let dc = c / 2, r = spec.int("esa_channels", 16), hidden = max(1, c / spec.int("cca_reduction", 16))
            func bsconv(_ name: String, _ cout: Int, _ cin: Int) {
                conv("\(name).pw", cout, cin, 1, bias: false)
                dw("\(name).dw", cout)
            }
            func dw(_ name: String, _ ch: Int) {
                let bound: Float = 1 / 3
                tensors.append(("\(name).weight", Tensor(shape: .init(ch, 1, 3, 3), data: (0..<(ch * 9)).map { _ in rng.uniform(-bound...bound) })))
                tensors.append(("\(name).bias", Tensor(shape: .init(1, 1, 1, ch), data: (0..<ch).map { _ in rng.uniform(-bound...bound) })))
            }
            bsconv("head", c, inC * rep)
            for k in 0..<blocks {
                let p = "blocks.\(k)"
                for i in 0..<3 { conv("\(p).distill.\(i)", dc, c, 1); bsconv("\(p).refine.\(i).conv", c, c) }
                bsconv("\(p).last", dc, c)
                conv("\(p).condense", c, 4 * dc, 1)
                conv("\(p).esa.reduce", r, c, 1); bsconv("\(p).esa.down", r, r); bsconv("\(p).esa.conv", r, r)
                conv("\(p).esa.skip", r, r, 1); conv("\(p).esa.expand", c, r, 1)
                if spec.string("attention", "cca") == "cca" {
                    conv("\(p).attn.squeeze", hidden, c, 1); conv("\(p).attn.expand", c, hidden, 1)
                } else {
                    tensors.append(("\(p).attn.weight", Tensor(shape: .init(1, c, 1, 1), data: [Float](repeating: 1, count: c))))
                }
            }
            conv("fuse_conv", c, c * blocks, 1)
            bsconv("fuse_bsconv", c, c)
            conv("tail", inC * s * s, c, 3)
        default:
            throw ModelFileError("no random-weight recipe for '\(spec.arch)'")
        }
        // Receptive field of the conv chains (BSRN pools globally): 1 + sum of (kernel - 1).
        var field = "global"
        if spec.arch != "bsrn" {
            field = String(1 + tensors.filter { $0.0.hasPrefix("convs.") && $0.0.hasSuffix(".weight") }.map { $0.1.shape.h - 1 }.reduce(0, +))
        }
        let meta = ["format": "upres-model", "receptive_field": field, "version": "1", "arch": spec.arch, "config": spec.configJSON,
                    "scale": String(s), "in_channels": String(inC), "out_channels": String(inC),
                    "provenance": "{\"data\": \"none: seeded random weights (benchmark only)\", \"seed\": \(seed)}"]
        let file = try SafeTensorsFile(data: SafeTensorsFile.encode(tensors, metadata: meta.merging(extra) { $1 }))
        return try Model(file: file, name: name ?? spec.name)
    }
}
