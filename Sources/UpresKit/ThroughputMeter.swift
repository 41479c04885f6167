import Foundation

/// Turns the pipeline's cumulative counters into the rates a person reads: recent and average
/// fps, megapixels per second, tiles per second, per-worker busy share, ETA, bitrate and the
/// estimated final size. Recent = over the last `window` seconds.
struct ThroughputMeter {
    private struct Sample {
        var time: Date
        var frames: Int
        var tiles: Double
        var busy: [Double]
        var bytes: Int64
        var position: Double
    }
    let start: Date
    let window: Double
    private var samples: [Sample] = []

    /// Frames already done before `start` (earlier segments, a resumed job): not counted in
    /// the rates.
    let framesBefore: Int

    init(start: Date, window: Double = 5, framesBefore: Int = 0) {
        self.start = start
        self.window = window
        self.framesBefore = framesBefore
    }

    /// `stats.tilesPerSecond` and `stats.workerBusy` arrive as cumulative counts / seconds
    /// (from `TilePipeline.fill`) and leave as rates / shares. `position`: seconds of the
    /// source done, for the bitrate.
    mutating func update(_ stats: inout PipelineStats, now: Date, position: Double = 0) {
        let s = Sample(time: now, frames: stats.framesDone, tiles: stats.tilesPerSecond, busy: stats.workerBusy,
                       bytes: stats.bytesWritten, position: position)
        samples.append(s)
        while let first = samples.first, now.timeIntervalSince(first.time) > window, samples.count > 2 { samples.removeFirst() }
        let first = samples[0]
        let dt = now.timeIntervalSince(first.time)
        let elapsed = now.timeIntervalSince(start)
        stats.elapsed = elapsed
        stats.averageFps = elapsed > 0 ? Double(stats.framesDone - framesBefore) / elapsed : 0
        if dt > 0.2 {
            stats.fps = Double(s.frames - first.frames) / dt
            stats.tilesPerSecond = (s.tiles - first.tiles) / dt
            stats.workerBusy = zip(s.busy, first.busy).map { min(1, max(0, ($0 - $1) / dt)) }
            let dp = s.position - first.position
            stats.bitrate = dp > 0 ? Double(s.bytes - first.bytes) * 8 / dp : nil
        } else {
            stats.fps = stats.averageFps
            stats.tilesPerSecond = elapsed > 0 ? s.tiles / elapsed : 0
            stats.workerBusy = s.busy.map { elapsed > 0 ? min(1, $0 / elapsed) : 0 }
        }
        stats.inputMegapixelsPerSecond = stats.fps * Double(stats.inputWidth * stats.inputHeight) / 1e6
        stats.outputMegapixelsPerSecond = stats.fps * Double(stats.outputWidth * stats.outputHeight) / 1e6
        if let total = stats.framesTotal, total > 0 {
            let rate = stats.fps > 0 ? stats.fps : stats.averageFps
            stats.eta = rate > 0 ? Double(max(0, total - stats.framesDone)) / rate : nil
            if stats.framesDone >= 5 && framesBefore == 0 {
                stats.estimatedFinalBytes = Int64(Double(stats.bytesWritten) * Double(total) / Double(stats.framesDone))
            }
        }
    }
}
