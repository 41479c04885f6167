import Foundation
import CEngineShims

/// One benchmark measurement (`upres bench --json` prints these).
public struct BenchResult: Codable, Sendable {
    public var model: String
    public var weights: String
    public var precision: String
    /// Workers run side by side, each with its own session and one oneDNN thread.
    public var threads: Int
    public var width: Int
    public var height: Int
    public var macs_per_pixel: Int
    public var frames: Int
    public var ms_per_frame: Double
    public var mpix_per_s: Double
    public var gflops: Double
    /// Measured single-core peak for this precision (fp32: FMA loop; bf16: vdpbf16ps loop;
    /// int8: vpdpbusd loop, in GOPS) x threads. int8 GFLOPS figures count integer ops.
    public var peak_gflops: Double
    public var percent_of_peak: Double
    /// Measured single-core fp32 FMA peak x threads (bf16 runs are also quoted against it).
    public var peak_fp32_gflops: Double
    /// Milliseconds per frame by layer kind (one worker, profiled run).
    public var ms_by_kind: [String: Double]
    /// GFLOPS by convolution kind on one worker (its multiply-adds over its profiled time).
    public var gflops_by_kind: [String: Double]
    public var isa: String
}

public enum Benchmark {
    /// Single-core fp32 peak measured with an FMA loop (cached).
    public static let peakGFLOPS: Double = {
        var bits: Int32 = 0
        return upres_measure_peak_gflops(0.3, &bits)
    }()

    /// Single-core bf16 peak measured with a `vdpbf16ps` loop (cached); 0 without AVX-512 BF16.
    public static let peakBF16GFLOPS: Double = upres_measure_peak_bf16_gflops(0.3)

    /// Single-core int8 peak in GOPS measured with a `vpdpbusd` loop (cached); 0 without AVX-512 VNNI.
    public static let peakInt8GOPS: Double = upres_measure_peak_int8_gops(0.3)

    public static func peak(_ p: Precision) -> Double {
        switch p {
        case .fp32: return peakGFLOPS
        case .bf16: return peakBF16GFLOPS > 0 ? peakBF16GFLOPS : peakGFLOPS
        case .int8: return peakInt8GOPS > 0 ? peakInt8GOPS : peakGFLOPS
        }
    }

    /// int8: the model file's calibration, else one measured on `input` (speed does not
    /// depend on the ranges; random-weight models have none).
    static func calibration(_ model: Model, _ precision: Precision, _ input: Tensor) throws -> Int8Calibration? {
        guard precision == .int8 else { return nil }
        if let c = try Int8Calibration(model: model) { return c }
        var calibrator = Int8Calibrator(model: model)
        try calibrator.observe(input)
        return calibrator.calibration
    }

    /// Runs `workers` sessions in parallel on a synthetic frame for about `seconds`.
    public static func run(model: Model, width: Int, height: Int, precision: Precision, workers: Int,
                           seconds: Double, weights: String) throws -> BenchResult {
        let shape = Tensor.Shape(1, model.info.inChannels, height, width)
        let input = Tensor(random: shape, seed: 7)
        let calibration = try calibration(model, precision, input)
        // Per-layer profile on one worker.
        let profiled = try Session(model: model, input: shape, precision: precision, calibration: calibration)
        _ = try profiled.run(input)
        profiled.profiling = true
        let profileRuns = 3
        for _ in 0..<profileRuns { try profiled.execute() }
        let byKind = profiled.timeByKind.mapValues { $0 * 1000 / Double(profileRuns) }
        var gflopsByKind: [String: Double] = [:]
        for (kind, m) in profiled.multiplyAddsByKind {
            if let ms = byKind[kind], ms > 0 { gflopsByKind[kind] = 2 * Double(m) / (ms / 1000) / 1e9 }
        }
        let macs = profiled.multiplyAdds

        // Throughput: each worker owns its session and runs frames until the deadline.
        let sessions = try (0..<workers).map { _ in
            try Session(model: model, input: shape, precision: precision, calibration: calibration)
        }
        for s in sessions { _ = try s.run(input) }   // warm up
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: workers)
        counts.initialize(repeating: 0)
        defer { counts.deallocate() }
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        let group = DispatchGroup()
        nonisolated(unsafe) let unsafeCounts = counts
        for (i, s) in sessions.enumerated() {
            nonisolated(unsafe) let session = s
            group.enter()
            Thread {
                while Date() < deadline { if (try? session.execute()) != nil { unsafeCounts[i] += 1 } else { break } }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        let frames = counts.reduce(0, +)
        let msPerFrame = elapsed * 1000 / Double(max(frames, 1))
        let gflops = 2 * Double(macs) * Double(frames) / elapsed / 1e9
        let peak = peak(precision) * Double(workers)
        return BenchResult(model: model.info.name, weights: weights, precision: precision.rawValue, threads: workers,
                           width: width, height: height, macs_per_pixel: macs / (width * height), frames: frames,
                           ms_per_frame: msPerFrame, mpix_per_s: Double(width * height * frames) / elapsed / 1e6,
                           gflops: gflops, peak_gflops: peak, percent_of_peak: peak > 0 ? 100 * gflops / peak : 0,
                           peak_fp32_gflops: peakGFLOPS * Double(workers),
                           ms_by_kind: byKind, gflops_by_kind: gflopsByKind, isa: Precision.cpuISA)
    }
}

/// One single-layer measurement (`upres bench --layers`).
public struct LayerBenchResult: Codable, Sendable {
    public var layer: String
    public var precision: String
    public var threads: Int
    public var width: Int
    public var height: Int
    public var channels: Int
    public var ms: Double
    public var gflops: Double
    public var peak_gflops: Double
    public var percent_of_peak: Double
}

extension Benchmark {
    /// The layer kinds the networks are made of, alone: 3x3, 1x1 and depthwise 3x3 convolutions
    /// with `channels` in and out, on a `width` x `height` input, one worker, one oneDNN thread.
    public static let layerKinds = ["conv 3x3", "conv 1x1", "depthwise conv 3x3"]

    public static func layer(_ kind: String, channels c: Int, width: Int, height: Int, precision: Precision,
                             seconds: Double) throws -> LayerBenchResult {
        let (k, groups) = kind == "conv 1x1" ? (1, 1) : (3, kind.hasPrefix("depthwise") ? c : 1)
        let w = Tensor(random: .init(c, c / groups, k, k), seed: 3, in: -0.1...0.1)
        let conv = Convolution(weights: w, bias: [Float](repeating: 0.01, count: c), groups: groups)
        let graph = Graph(nodes: [Node(op: .input, inputs: [], name: "input"), Node(op: .conv(conv), inputs: [0], name: kind)],
                          output: 1)
        let shape = Tensor.Shape(1, c, height, width)
        let model = Model(testGraph: graph)
        let input = Tensor(random: shape, seed: 5)
        let session = try Session(model: model, input: shape, precision: precision,
                                  calibration: calibration(model, precision, input))
        _ = try session.run(input)
        // The session's input/output reorders are part of every run; time the convolution
        // alone with the per-step profile.
        session.profiling = true
        let start = Date()
        var runs = 0
        repeat { try session.execute(); runs += 1 } while Date().timeIntervalSince(start) < seconds
        let convKind = k == 1 ? "conv 1x1" : (groups > 1 ? "depthwise conv" : "conv 3x3")
        let ms = (session.timeByKind[convKind] ?? 0) * 1000 / Double(runs)
        let macs = Double(session.multiplyAddsByKind[convKind] ?? 0)
        let gflops = ms > 0 ? 2 * macs / (ms / 1000) / 1e9 : 0
        let peak = peak(precision)
        return LayerBenchResult(layer: kind, precision: precision.rawValue, threads: 1, width: width, height: height,
                                channels: c, ms: ms, gflops: gflops, peak_gflops: peak,
                                percent_of_peak: peak > 0 ? 100 * gflops / peak : 0)
    }
}
