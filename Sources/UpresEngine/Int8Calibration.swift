import Foundation

/// The range of every value of a model's fused graph, measured on calibration images in fp32:
/// what int8 sessions quantise activations with (one scale per tensor; weights get one scale per
/// output channel from their own values). Stored in the model file as metadata `int8_ranges`,
/// a JSON array of `[node name, min, max]` in fused-graph order (docs/model-format.md), so a
/// file calibrated for another graph is refused rather than misread.
public struct Int8Calibration: Equatable, Sendable {
    public static let metadataKey = "int8_ranges"
    /// Y-PSNR of int8 minus fp32 on the validation photos, measured by `upres calibrate`.
    public static let deltaKey = "int8_psnr_delta_db"
    /// The largest PSNR loss int8 may cost a model and still be chosen by `auto` (as bf16).
    public static let tolerance = 0.05

    public struct Range: Equatable, Sendable {
        public var name: String
        public var min: Float
        public var max: Float
    }

    /// Metadata key of the convolutions int8 sessions run in bf16 instead (a JSON array of
    /// fused-graph node names): the layers whose int8 codes cost the most PSNR, found by
    /// `upres calibrate`.
    public static let floatKey = "int8_float_nodes"

    public var ranges: [Range]
    /// Names of the convolutions that run in bf16 (f32 values around them) in int8 sessions.
    public var floatNodes: Set<String>

    public init(ranges: [Range], floatNodes: Set<String> = []) {
        self.ranges = ranges
        self.floatNodes = floatNodes
    }

    /// Reads `int8_ranges` from a model's metadata; nil when the file has none. Throws when it
    /// is malformed or was measured on a different graph.
    public init?(model: Model) throws {
        guard let text = model.info.metadata[Int8Calibration.metadataKey] else { return nil }
        func fail(_ m: String) -> ModelFileError { ModelFileError("\(model.info.displayName): metadata '\(Int8Calibration.metadataKey)' \(m)") }
        guard let rows = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]] else {
            throw fail("is not a JSON array of [name, min, max] rows")
        }
        var ranges: [Range] = []
        for row in rows {
            guard row.count == 3, let name = row[0] as? String, let lo = (row[1] as? NSNumber)?.floatValue,
                  let hi = (row[2] as? NSNumber)?.floatValue, lo.isFinite, hi.isFinite, lo <= hi else {
                throw fail("has a row that is not [name, min, max] with finite min <= max")
            }
            ranges.append(Range(name: name, min: lo, max: hi))
        }
        let names = model.fusedGraph.nodes.map(\.name)
        guard ranges.map(\.name) == names else {
            throw fail("was measured on a different graph (\(ranges.count) values, this upres builds \(names.count)): run upres calibrate again")
        }
        self.ranges = ranges
        floatNodes = []
        if let text = model.info.metadata[Int8Calibration.floatKey] {
            guard let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
                throw ModelFileError("\(model.info.displayName): metadata '\(Int8Calibration.floatKey)' is not a JSON array of node names")
            }
            let convs = Set(model.fusedGraph.nodes.filter { if case .conv = $0.op { return true }; return false }.map(\.name))
            if let bad = list.first(where: { !convs.contains($0) }) {
                throw ModelFileError("\(model.info.displayName): metadata '\(Int8Calibration.floatKey)' names '\(bad)', "
                                     + "which is not a convolution of this graph: run upres calibrate again")
            }
            floatNodes = Set(list)
        }
    }

    /// The metadata value of `floatKey` (sorted names), nil when every convolution is int8.
    public var floatMetadataValue: String? {
        guard !floatNodes.isEmpty else { return nil }
        let data = try! JSONSerialization.data(withJSONObject: floatNodes.sorted(), options: [.withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// The metadata value (`int8_ranges`).
    public var metadataValue: String {
        let rows: [[Any]] = ranges.map { [$0.name, Double($0.min), Double($0.max)] }
        let data = try! JSONSerialization.data(withJSONObject: rows, options: [.withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// Storage of one value in an int8 session: u8 codes, with a zero point when the value
    /// can be negative (asymmetric: all 256 codes cover [min, max]).
    struct Quantisation {
        /// True value = (code - zeroPoint) x step.
        var step: Float
        var zeroPoint: Int32
    }

    func quantisation(_ i: Int) -> Quantisation {
        let r = ranges[i]
        // Network inputs are 8-bit pictures over 255: their own grid quantises them losslessly.
        if i == 0 && r.name == "input" && r.min >= 0 && r.max <= 1 { return Quantisation(step: 1 / 255, zeroPoint: 0) }
        let lo = Swift.min(r.min, 0), hi = Swift.max(r.max, 0)
        let step = Swift.max(hi - lo, 1e-6) / 255
        return Quantisation(step: step, zeroPoint: Int32((-lo / step).rounded()))
    }
}

extension ModelInfo {
    /// The recorded int8 check (`int8_psnr_delta_db`), when the file has one.
    public var int8Delta: Double? { metadata[Int8Calibration.deltaKey].flatMap(Double.init) }

    /// True when the file is calibrated for int8 and its recorded check lost at most the tolerance.
    public var int8Allowed: Bool {
        guard metadata[Int8Calibration.metadataKey] != nil, let d = int8Delta else { return false }
        return d >= -Int8Calibration.tolerance
    }
}

/// Measures the range of every fused-graph value while fp32 sessions run calibration inputs,
/// and keeps an evenly strided sample of each value's elements for clipped ranges.
///
///     var calibrator = Int8Calibrator(model: model)
///     for lr in images { try calibrator.observe(lr) }
///     let calibration = calibrator.calibration(clip: 1e-4)   // 0.01% of each tail clipped
public struct Int8Calibrator {
    public let model: Model
    private var low: [Float]
    private var high: [Float]
    private var samples: [[Float]]
    /// Elements sampled per value and input.
    public let samplesPerInput: Int
    public private(set) var inputs = 0

    public init(model: Model, samplesPerInput: Int = 32768) {
        self.model = model
        self.samplesPerInput = samplesPerInput
        low = Array(repeating: .infinity, count: model.fusedGraph.nodes.count)
        high = Array(repeating: -.infinity, count: model.fusedGraph.nodes.count)
        samples = Array(repeating: [], count: model.fusedGraph.nodes.count)
    }

    /// Runs `input` (NCHW f32) through an fp32 session and widens every value's range.
    public mutating func observe(_ input: Tensor) throws {
        let session = try Session(model: model, input: input.shape, precision: .fp32)
        input.data.withUnsafeBufferPointer { session.inputPointer.update(from: $0.baseAddress!, count: $0.count) }
        var lo = low, hi = high, kept = samples
        let perInput = samplesPerInput
        try session.execute { node, values in
            var a = lo[node], b = hi[node]
            for v in values where v.isFinite { a = Swift.min(a, v); b = Swift.max(b, v) }
            lo[node] = a; hi[node] = b
            let stride = Swift.max(1, values.count / perInput)
            for i in Swift.stride(from: 0, to: values.count, by: stride) where values[i].isFinite { kept[node].append(values[i]) }
        }
        low = lo; high = hi; samples = kept
        inputs += 1
    }

    /// The full ranges seen so far (a value never seen gets [0, 0]).
    public var calibration: Int8Calibration { calibration(clip: 0) }

    /// Ranges from the `clip` and `1 - clip` quantiles of each value's sampled elements (0: the
    /// full range), never wider than what was seen.
    public func calibration(clip: Double) -> Int8Calibration {
        Int8Calibration(ranges: model.fusedGraph.nodes.enumerated().map { i, node in
            guard low[i] <= high[i] else { return .init(name: node.name, min: 0, max: 0) }
            guard clip > 0, samples[i].count > 1 else { return .init(name: node.name, min: low[i], max: high[i]) }
            let sorted = samples[i].sorted()
            let k = Int((Double(sorted.count - 1) * clip).rounded())
            return .init(name: node.name, min: Swift.max(low[i], sorted[k]), max: Swift.min(high[i], sorted[sorted.count - 1 - k]))
        })
    }
}
