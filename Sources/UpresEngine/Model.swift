import Foundation

/// What a model file says about itself (its safetensors metadata; docs/model-format.md).
public struct ModelInfo: Sendable {
    /// The largest PSNR loss bf16 inference may cost a model and still be chosen by `auto`.
    public static let bf16Tolerance = 0.05

    /// False when the file records a bf16 check (metadata `bf16_psnr_delta_db`: PSNR of bf16
    /// minus fp32 on the validation photos) that lost more than `bf16Tolerance` dB.
    public var bf16Allowed: Bool {
        guard let text = metadata["bf16_psnr_delta_db"], let delta = Double(text) else { return true }
        return delta >= -ModelInfo.bf16Tolerance
    }

    public var name: String
    public var arch: String
    public var scale: Int
    public var inChannels: Int
    public var outChannels: Int
    /// Input pixels one output pixel depends on (side length); nil = global (attention, pooling).
    public var receptiveField: Int?
    public var macsPerPixel: Int
    public var parameters: Int
    public var config: String
    public var provenance: [String: String]
    public var metadata: [String: String]
    /// The file the model was loaded from (the `.param` of an ncnn pair); nil for built-in models.
    public var file: String? = nil

    /// The model file, else the name (for messages).
    public var displayName: String { file ?? name }
}

/// An immutable network: graph and weights, loaded once and shared by every worker's `Session`.
public final class Model: Sendable {
    public let info: ModelInfo
    /// As in the file, one node per PyTorch operation.
    public let graph: Graph
    /// With activations, residual adds and multiplies folded into convolutions.
    public let fusedGraph: Graph
    /// Weights packed for the kernels, shared by all sessions of this model.
    let packedWeights = PackedWeights()

    /// A model around a hand-built graph (tests and benchmarks of single operations).
    init(testGraph: Graph) {
        graph = testGraph
        fusedGraph = testGraph
        info = ModelInfo(name: "test", arch: "test", scale: 1, inChannels: 0, outChannels: 0, receptiveField: nil,
                         macsPerPixel: 0, parameters: 0, config: "{}", provenance: [:], metadata: [:])
    }

    /// A model around an imported graph (ncnn files: NCNN/NCNNModel.swift).
    init(graph: Graph, info: ModelInfo) {
        self.graph = graph
        fusedGraph = graph.fused()
        self.info = info
    }

    public convenience init(contentsOf url: URL) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch let e as ModelFileError {
            throw ModelFileError("\(url.path): \(e.description)")
        }
        try self.init(file: file, name: url.deletingPathExtension().lastPathComponent, source: url.path, path: url.path)
    }

    /// The largest `receptive_field` metadata value taken: the tile margin is half of it.
    public static let maxReceptiveField = 511

    public init(file: SafeTensorsFile, name: String, source: String? = nil, path: String? = nil) throws {
        let m = file.metadata
        let origin = source ?? name
        func fail(_ s: String) -> ModelFileError { ModelFileError("\(origin): \(s)") }
        guard m["format"] == "upres-model" else {
            throw fail("not an upres model (metadata 'format' is \(m["format"].map { "'\($0)'" } ?? "missing"), expected 'upres-model')")
        }
        guard m["version"] == "1" else {
            throw fail("model format version \(m["version"].map { "'\($0)'" } ?? "missing") is not supported (this upres reads version 1)")
        }
        guard let arch = m["arch"] else { throw fail("metadata has no 'arch'") }
        guard let scale = m["scale"].flatMap(Int.init), (1...8).contains(scale) else { throw fail("metadata 'scale' is missing or invalid") }
        guard let inChannels = m["in_channels"].flatMap(Int.init), [1, 3].contains(inChannels) else {
            throw fail("metadata 'in_channels' must be 1 (luma) or 3 (RGB)")
        }
        let configText = m["config"] ?? "{}"
        guard let config = try? JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any] else {
            throw fail("metadata 'config' is not a JSON object")
        }
        do {
            graph = try Architectures.build(arch: arch, config: config, scale: arch == "classifier" ? 1 : scale, file: file)
            // Validate every tensor shape against the graph on a small input.
            let probe = Tensor.Shape(1, inChannels, 24, 24)
            let shapes = try graph.shapes(input: probe)
            let out = shapes[graph.output]
            if arch != "classifier" && (out.h != 24 * scale || out.w != 24 * scale) {
                throw ModelFileError("the network produces \(out.h)x\(out.w) from 24x24, not x\(scale)")
            }
            if arch != "classifier" && out.c != inChannels {
                throw ModelFileError("the network takes \(inChannels) channels and returns \(out.c)")
            }
            var receptiveField: Int? = nil
            if let text = m["receptive_field"], text != "global" {
                guard let v = Int(text), (1...Model.maxReceptiveField).contains(v) else {
                    throw ModelFileError("metadata 'receptive_field' must be 1...\(Model.maxReceptiveField) or 'global', not '\(text.prefix(40))'")
                }
                receptiveField = v
            }
            let macs = try graph.multiplyAdds(input: probe) / (24 * 24)
            fusedGraph = graph.fused()
            let params = file.entries.values.reduce(0) { $0 + $1.shape.reduce(1, *) }
            var provenance: [String: String] = [:]
            if let p = m["provenance"], let obj = try? JSONSerialization.jsonObject(with: Data(p.utf8)) as? [String: Any] {
                for (k, v) in obj {
                    if v is NSNull { continue }
                    if JSONSerialization.isValidJSONObject(v),
                       let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .withoutEscapingSlashes]) {
                        provenance[k] = String(decoding: d, as: UTF8.self)
                    } else {
                        provenance[k] = "\(v)"
                    }
                }
            }
            info = ModelInfo(name: name, arch: arch, scale: scale, inChannels: inChannels,
                             outChannels: out.c, receptiveField: receptiveField,
                             macsPerPixel: macs, parameters: params, config: configText,
                             provenance: provenance, metadata: m, file: path)
        } catch let e as ModelFileError {
            throw fail(e.description)
        } catch let e as GraphError {
            throw fail("tensors do not fit the '\(arch)' architecture: \(e.description)")
        }
    }
}
