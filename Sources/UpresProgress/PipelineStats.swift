import Foundation

/// How a tile was restored (ClassSR-style routing; the dashboard shows their distribution).
///
/// - `static`: the tile and its context did not change since the previous frame: its previous
///   output is reused, no inference.
/// - `flat`: smooth content: the classical (Lanczos) result is kept, no inference.
/// - `easy`, `medium`, `hard`: the model family's branches of increasing capacity.
public enum TileClass: Int, CaseIterable, Sendable, Codable, Comparable {
    case `static` = 0, flat, easy, medium, hard

    public var name: String {
        switch self {
        case .static: return "static"
        case .flat: return "flat"
        case .easy: return "easy"
        case .medium: return "medium"
        case .hard: return "hard"
        }
    }

    public init?(name: String) {
        guard let c = TileClass.allCases.first(where: { $0.name == name }) else { return nil }
        self = c
    }

    public static func < (a: TileClass, b: TileClass) -> Bool { a.rawValue < b.rawValue }
}

/// Tile counts per class, indexed by `TileClass`.
public struct ClassCounts: Sendable, Equatable, Codable {
    public var counts: [Int] = Array(repeating: 0, count: TileClass.allCases.count)
    public init() {}
    public subscript(c: TileClass) -> Int {
        get { counts[c.rawValue] }
        set { counts[c.rawValue] = newValue }
    }
    public var total: Int { counts.reduce(0, +) }
    /// Share of each class in [0, 1] (all zero when empty).
    public func fraction(_ c: TileClass) -> Double { total > 0 ? Double(self[c]) / Double(total) : 0 }
    public static func + (a: ClassCounts, b: ClassCounts) -> ClassCounts {
        var r = a
        for i in r.counts.indices { r.counts[i] += b.counts[i] }
        return r
    }
}

/// Where wall time goes, in seconds summed over the threads that did the work.
public struct StageTimes: Sendable, Equatable, Codable {
    public var decode: Double = 0
    public var classify: Double = 0
    public var sr: Double = 0
    public var stitch: Double = 0
    public var encode: Double = 0
    public init() {}
    public var total: Double { decode + classify + sr + stitch + encode }
}

/// A consistent snapshot of a running job, published by the pipeline for the progress front
/// ends (dashboard, plain lines, JSON events). Plain data: copying it is cheap and safe.
public struct PipelineStats: Sendable, Equatable, Codable {
    // The job.
    public var input: String = ""
    public var output: String = ""
    public var inputWidth: Int = 0
    public var inputHeight: Int = 0
    public var outputWidth: Int = 0
    public var outputHeight: Int = 0
    /// Model (family) name or classical filter, and precision ("fp32", "bf16"; "" for classical).
    public var model: String = ""
    public var precision: String = ""
    public var threads: Int = 1
    /// Position in a batch: job `jobIndex` (1-based) of `jobCount`.
    public var jobIndex: Int = 1
    public var jobCount: Int = 1

    // Progress.
    public var framesDone: Int = 0
    /// From the container, or estimated from the duration; nil when unknown.
    public var framesTotal: Int? = nil
    /// True when `framesTotal` is an estimate (duration x frame rate).
    public var framesTotalEstimated: Bool = false
    public var elapsed: Double = 0
    /// Seconds to go at the recent rate; nil when unknown.
    public var eta: Double? = nil
    public var paused: Bool = false
    public var stopping: Bool = false

    // Throughput.
    public var fps: Double = 0              // recent (last few seconds)
    public var averageFps: Double = 0       // since the start
    public var inputMegapixelsPerSecond: Double = 0
    public var outputMegapixelsPerSecond: Double = 0
    public var tilesPerSecond: Double = 0

    // Tiles.
    public var tileSize: Int = 0            // LR core side
    public var tileColumns: Int = 0
    public var tileRows: Int = 0
    public var classesTotal = ClassCounts()
    /// Classes of the last finished frame, and its tile map (row-major, `tileColumns` x `tileRows`).
    public var classesLastFrame = ClassCounts()
    public var lastFrameMap: [TileClass] = []
    /// Network multiply-adds done, and what running the hard branch on every tile would have cost.
    public var multiplyAdds: Double = 0
    public var multiplyAddsAllHard: Double = 0

    // Pipeline health.
    public var queueDepths: [String: Int] = [:]       // name -> items waiting
    public var queueCapacities: [String: Int] = [:]
    public var workerBusy: [Double] = []               // per SR worker, busy share in [0, 1] recently
    public var stageSeconds = StageTimes()

    // Output.
    public var bytesWritten: Int64 = 0
    /// Recent output bitrate in bits per second; nil until known.
    public var bitrate: Double? = nil
    /// Bytes written / share of the work done; nil until a few frames are done.
    public var estimatedFinalBytes: Int64? = nil

    public init() {}

    /// Share of the job done in [0, 1], nil when the total is unknown.
    public var fractionDone: Double? {
        guard let t = framesTotal, t > 0 else { return nil }
        return min(1, Double(framesDone) / Double(t))
    }
}
