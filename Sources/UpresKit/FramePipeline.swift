import Foundation
import UpresMedia

/// The frame path of a job: decoded frames go in, upscaled frames come out in the same order,
/// possibly later (the tile pipeline keeps several frames in flight). The job submits while
/// `isFull` is false and takes finished frames with `next`.
///
///     while pipeline.isFull { try encode(pipeline.next(wait: true)!) }
///     try pipeline.submit(decoded)
///     while let done = try pipeline.next(wait: false) { try encode(done) }
///     pipeline.finish()            // end of input: then next(wait: true) until nil
public protocol FramePipeline: AnyObject {
    var name: String { get }
    /// True when a submit now would exceed the frames-in-flight capacity.
    var isFull: Bool { get }
    /// Takes a reference to the frame (the caller may reuse its `Frame` afterwards).
    func submit(_ frame: Frame) throws
    /// The next upscaled frame in submission order; nil when none is ready (`wait: false`) or
    /// none is left (after `finish`).
    func next(wait: Bool) throws -> Frame?
    /// No more frames will be submitted.
    func finish()
    /// Stops at once: frames not yet done are dropped.
    func abort()
    /// Adds the pipeline's own figures (tiles, classes, queues, workers, stage times).
    func fill(_ stats: inout PipelineStats)
}

/// Runs a whole-frame `Upscaler` on the submitting thread; frames wait (at most `capacity`)
/// for the encode thread.
public final class SynchronousPipeline: FramePipeline, @unchecked Sendable {
    private let upscaler: any Upscaler
    private let capacity: Int
    private let lock = NSCondition()
    private var ready: [Frame] = []
    private var finished = false
    private var aborted = false
    private var seconds = 0.0

    public init(_ upscaler: any Upscaler, capacity: Int = 2) {
        self.upscaler = upscaler
        self.capacity = capacity
    }

    public var name: String { upscaler.name }
    public var isFull: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ready.count >= capacity
    }

    public func submit(_ frame: Frame) throws {
        lock.lock()
        while ready.count >= capacity && !aborted { lock.wait() }
        let stop = aborted
        lock.unlock()
        if stop { return }
        let start = ContinuousClock.now
        let big = try upscaler.upscale(frame)
        let dt = (ContinuousClock.now - start).seconds
        lock.lock()
        ready.append(big)
        seconds += dt
        lock.broadcast()
        lock.unlock()
    }

    public func next(wait: Bool) throws -> Frame? {
        lock.lock()
        defer { lock.unlock() }
        while ready.isEmpty && wait && !finished && !aborted { lock.wait() }
        guard !aborted, !ready.isEmpty else { return nil }
        lock.broadcast()
        return ready.removeFirst()
    }

    public func finish() {
        lock.lock()
        finished = true
        lock.broadcast()
        lock.unlock()
    }

    public func abort() {
        lock.lock()
        aborted = true
        ready.removeAll()
        lock.broadcast()
        lock.unlock()
    }

    public func fill(_ stats: inout PipelineStats) {
        lock.lock()
        defer { lock.unlock() }
        stats.stageSeconds.stitch = seconds
        stats.threads = 1
        stats.queueDepths = ["frames": ready.count]
        stats.queueCapacities = ["frames": capacity]
    }
}

extension Duration {
    /// This duration in seconds, as a Double.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
