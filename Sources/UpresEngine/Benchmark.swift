import Foundation
import CUpresShims

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
    /// Measured single-core FMA peak x threads.
    public var peak_gflops: Double
    public var percent_of_peak: Double
    /// Milliseconds per frame by layer kind (one worker, profiled run).
    public var ms_by_kind: [String: Double]
    public var isa: String
}

public enum Benchmark {
    /// Single-core fp32 peak measured with an FMA loop (cached).
    public static let peakGFLOPS: Double = {
        var bits: Int32 = 0
        return upres_measure_peak_gflops(0.3, &bits)
    }()

    /// Runs `workers` sessions in parallel on a synthetic frame for about `seconds`.
    public static func run(model: Model, width: Int, height: Int, precision: Precision, workers: Int,
                           seconds: Double, weights: String) throws -> BenchResult {
        let shape = Tensor.Shape(1, model.info.inChannels, height, width)
        let input = Tensor(random: shape, seed: 7)
        // Per-layer profile on one worker.
        let profiled = try Session(model: model, input: shape, precision: precision)
        _ = try profiled.run(input)
        profiled.profiling = true
        let profileRuns = 3
        for _ in 0..<profileRuns { try profiled.execute() }
        let byKind = profiled.timeByKind.mapValues { $0 * 1000 / Double(profileRuns) }
        let macs = profiled.multiplyAdds

        // Throughput: each worker owns its session and runs frames until the deadline.
        let sessions = try (0..<workers).map { _ in try Session(model: model, input: shape, precision: precision) }
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
        let peak = peakGFLOPS * Double(workers)
        return BenchResult(model: model.info.name, weights: weights, precision: precision.rawValue, threads: workers,
                           width: width, height: height, macs_per_pixel: macs / (width * height), frames: frames,
                           ms_per_frame: msPerFrame, mpix_per_s: Double(width * height * frames) / elapsed / 1e6,
                           gflops: gflops, peak_gflops: peak, percent_of_peak: peak > 0 ? 100 * gflops / peak : 0,
                           ms_by_kind: byKind, isa: Precision.cpuISA)
    }
}
