import Foundation
import Synchronization

/// Requests from outside a running job (keys in the dashboard, signals): stop gracefully,
/// stop now, pause. Safe to use from any thread. The job reads the stop flags between packets
/// (atomics, no lock on that path) and blocks in `waitWhilePaused` while paused; resume and
/// stop requests wake it through a condition variable, so nothing polls.
///
///     let control = JobControl()
///     signalHandler { control.requestStop() }
///     try job.run(control: control)
public final class JobControl: Sendable {
    private let stopLevel = Atomic<Int>(0)
    private let pausedFlag = Atomic<Bool>(false)
    /// Guards the changes of both flags against the check-then-wait in `waitWhilePaused`,
    /// so a resume or stop between a waiter's check and its wait is never lost.
    private let changed = NSCondition()
    /// Threads blocked in `waitWhilePaused` (changed under `changed`'s lock).
    private let waiting = Atomic<Int>(0)

    public init() {}

    /// First call: finish the frames in flight, write what is done as a playable file, stop.
    /// Second call: stop at once. Wakes a job blocked in `waitWhilePaused`.
    public func requestStop() { update { stopLevel.add(1, ordering: .relaxed) } }
    public var stopRequested: Bool { stopLevel.load(ordering: .relaxed) > 0 }
    public var stopNowRequested: Bool { stopLevel.load(ordering: .relaxed) > 1 }

    public func setPaused(_ p: Bool) { update { pausedFlag.store(p, ordering: .relaxed) } }
    public func togglePause() { update { _ = pausedFlag.logicalXor(true, ordering: .relaxed) } }
    public var paused: Bool { pausedFlag.load(ordering: .relaxed) }

    /// Blocks while paused; returns on resume or on a stop request.
    public func waitWhilePaused() {
        guard paused else { return }   // the common case: no lock
        changed.lock()
        defer { changed.unlock() }
        while paused && !stopRequested {
            waiting.add(1, ordering: .relaxed)
            changed.broadcast()   // for waitForWaiters
            changed.wait()
            waiting.subtract(1, ordering: .relaxed)
        }
    }

    /// How many threads are blocked in `waitWhilePaused` now.
    public var waiters: Int { waiting.load(ordering: .relaxed) }

    /// Blocks until at least `n` threads are blocked in `waitWhilePaused` (for tests and
    /// front ends that must know the job has actually stopped moving).
    public func waitForWaiters(_ n: Int) {
        changed.lock()
        defer { changed.unlock() }
        while waiting.load(ordering: .relaxed) < n { changed.wait() }
    }

    private func update(_ change: () -> Void) {
        changed.lock()
        change()
        changed.broadcast()
        changed.unlock()
    }
}
