import Foundation
import UpresProgress

/// Frames per second over the last minute, one bucket per second, for the dashboard's
/// sparkline. Fed with snapshots; time comes from an injected clock so tests need no sleeps.
///
/// The frames finished between two snapshots are spread evenly over the time between them:
/// a slow model finishing one frame every 3 s shows 0.33 fps, not a spike and two zeros.
///
///     var h = ThroughputHistory()
///     h.record(stats)          // after every frame
///     h.rates()                // 60 values, oldest first; nil before the first snapshot
public struct ThroughputHistory: Sendable {
    public let seconds: Int
    private let clock: @Sendable () -> Double
    /// Ring of per-second frame counts: the window plus the current, unfinished second.
    private var frames: [Double]
    private var newestBucket: Int? = nil  // absolute second of the newest bucket in the ring
    private var firstTime: Double? = nil
    private var last: (time: Double, frames: Int, job: String)? = nil

    public init(seconds: Int = 60, clock: @escaping @Sendable () -> Double = ThroughputHistory.monotonicClock) {
        precondition(seconds > 0)
        self.seconds = seconds
        self.clock = clock
        frames = Array(repeating: 0, count: seconds + 1)
    }

    /// Seconds from an arbitrary start, never going back.
    public static let monotonicClock: @Sendable () -> Double = {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    public mutating func record(_ stats: PipelineStats) {
        let now = clock()
        advance(to: now)
        if firstTime == nil { firstTime = now }
        let job = "\(stats.jobIndex)\u{0}\(stats.input)"
        defer { last = (now, stats.framesDone, job) }
        // A new job in a batch starts counting from zero again: nothing to add yet.
        guard let last, last.job == job, stats.framesDone > last.frames else { return }
        let done = Double(stats.framesDone - last.frames)
        let start = max(last.time, now - Double(seconds))
        let span = now - start
        if span <= 0 {
            add(done, atBucket: bucket(now))
            return
        }
        // Spread over the buckets [start, now), in proportion to the time each one covers.
        var t = start
        while t < now {
            let b = bucket(t)
            let end = min(now, Double(b + 1))
            add(done * (end - t) / span, atBucket: b)
            t = end
        }
    }

    /// Frames per second of each finished second of the window, oldest first; nil for
    /// seconds before the first snapshot. The current, partial second is left out (it would
    /// always look like a dip).
    public func rates() -> [Double?] {
        let now = clock()
        let current = bucket(now)
        return (0..<seconds).map { i in
            let b = current - seconds + i
            guard let first = firstTime, b >= bucket(first), let newest = newestBucket else { return nil }
            if b > newest || b < newest - seconds { return 0 }
            return frames[slot(b)]
        }
    }

    private func bucket(_ t: Double) -> Int { Int(t.rounded(.down)) }
    private func slot(_ b: Int) -> Int { ((b % frames.count) + frames.count) % frames.count }

    private mutating func add(_ n: Double, atBucket b: Int) {
        guard let newest = newestBucket, b >= newest - seconds, b <= newest else { return }
        frames[slot(b)] += n
    }

    /// Moves the ring forward to `t`'s second, clearing the seconds it skips.
    private mutating func advance(to t: Double) {
        let b = bucket(t)
        guard let newest = newestBucket else {
            newestBucket = b
            return
        }
        guard b > newest else { return }
        for x in (newest + 1)...min(b, newest + frames.count) { frames[slot(x)] = 0 }
        newestBucket = b
    }
}

/// A one-line chart of values scaled to their maximum.
public enum Sparkline {
    /// The newest `columns` values as sparkline characters; nil values are blanks.
    public static func render(_ values: [Double?], columns: Int, glyphs: Glyphs) -> String {
        let shown = values.suffix(max(0, columns))
        let top = shown.compactMap { $0 }.max() ?? 0
        let levels = glyphs.spark.count
        return shown.map { v -> String in
            guard let v else { return " " }
            guard top > 0 else { return glyphs.spark[0] }
            return glyphs.spark[min(levels - 1, max(0, Int((v / top) * Double(levels) - 1e-9)))]
        }.joined()
    }
}
