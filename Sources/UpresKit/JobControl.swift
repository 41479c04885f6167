import Foundation
import Synchronization

/// Requests from outside a running job (keys in the dashboard, signals): stop gracefully,
/// stop now, pause. Safe to use from any thread; the job polls it between packets.
///
///     let control = JobControl()
///     signalHandler { control.requestStop() }
///     try job.run(control: control)
public final class JobControl: Sendable {
    private let stopLevel = Atomic<Int>(0)
    private let pausedFlag = Atomic<Bool>(false)

    public init() {}

    /// First call: finish the frames in flight, write what is done as a playable file, stop.
    /// Second call: stop at once.
    public func requestStop() { stopLevel.add(1, ordering: .relaxed) }
    public var stopRequested: Bool { stopLevel.load(ordering: .relaxed) > 0 }
    public var stopNowRequested: Bool { stopLevel.load(ordering: .relaxed) > 1 }

    public func setPaused(_ p: Bool) { pausedFlag.store(p, ordering: .relaxed) }
    public func togglePause() { _ = pausedFlag.logicalXor(true, ordering: .relaxed) }
    public var paused: Bool { pausedFlag.load(ordering: .relaxed) }

    /// Blocks while paused (returns early on a stop request).
    public func waitWhilePaused() {
        while paused && !stopRequested { usleep(20_000) }
    }
}
