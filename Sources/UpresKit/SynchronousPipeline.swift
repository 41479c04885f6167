import Foundation
import UpresMedia

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
