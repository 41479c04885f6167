import Foundation
import Synchronization
import UpresKit

/// Hooks that let the CLI tests act at a known point of a run instead of after a sleep.
///
/// `UPRES_TEST_PAUSE_AFTER_FRAMES=N`: once N frames are done the job pauses, as the
/// dashboard's p key does; when the job thread is really blocked in `waitWhilePaused`,
/// upres writes `upres: test hook: paused after N frames` on stderr. The test then
/// interrupts or kills a process that is certainly still running; SIGINT/SIGTERM wake it
/// and it stops as usual.
enum TestHooks {
    private static let pauseAfter = ProcessInfo.processInfo.environment["UPRES_TEST_PAUSE_AFTER_FRAMES"].flatMap { Int($0) }
    private static let paused = Atomic<Bool>(false)

    /// Called with every progress snapshot, on the job's thread.
    static func progress(_ stats: PipelineStats) {
        guard let n = pauseAfter, stats.framesDone >= n, !paused.exchange(true, ordering: .relaxed) else { return }
        let control = Interrupts.control
        control.setPaused(true)
        Thread {
            control.waitForWaiters(1)
            Diagnostics.write("upres: test hook: paused after \(stats.framesDone) frames")
        }.start()
    }
}
