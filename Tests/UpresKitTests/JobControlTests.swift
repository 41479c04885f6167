import Dispatch
import Foundation
import Testing
import UpresKit

/// Pause, resume and stop as blocking waits: a waiter thread is known to be blocked (it is
/// counted inside the condition's wait, `waitForWaiters`), then released by resume or stop.
/// No thread sleeps; the semaphore timeouts are only there so a broken wake-up fails
/// instead of hanging the run.
@Suite("JobControl pause and stop")
struct JobControlTests {
    /// Starts a thread that calls `waitWhilePaused` and signals when it returns.
    static func waiter(_ control: JobControl) -> DispatchSemaphore {
        let released = DispatchSemaphore(value: 0)
        Thread {
            control.waitWhilePaused()
            released.signal()
        }.start()
        return released
    }

    @Test("not paused: waitWhilePaused returns at once")
    func notPaused() {
        let control = JobControl()
        control.waitWhilePaused()
        #expect(control.waiters == 0)
        #expect(!control.paused && !control.stopRequested)
    }

    @Test("a waiter blocked while paused stays blocked until resume releases it")
    func resumeReleases() {
        let control = JobControl()
        control.setPaused(true)
        let released = Self.waiter(control)
        control.waitForWaiters(1)
        #expect(control.waiters == 1)
        #expect(released.wait(timeout: .now()) == .timedOut, "still blocked while paused")
        control.setPaused(false)
        #expect(released.wait(timeout: .now() + 30) == .success, "resume wakes the waiter")
        #expect(control.waiters == 0)
        #expect(!control.stopRequested)
    }

    @Test("togglePause pauses and resumes the same way")
    func toggle() {
        let control = JobControl()
        control.togglePause()
        #expect(control.paused)
        let released = Self.waiter(control)
        control.waitForWaiters(1)
        control.togglePause()
        #expect(!control.paused)
        #expect(released.wait(timeout: .now() + 30) == .success)
    }

    @Test("a stop request wakes every waiter though still paused; a later wait does not block")
    func stopWakes() {
        let control = JobControl()
        control.setPaused(true)
        let a = Self.waiter(control), b = Self.waiter(control)
        control.waitForWaiters(2)
        #expect(control.waiters == 2)
        control.requestStop()
        #expect(a.wait(timeout: .now() + 30) == .success)
        #expect(b.wait(timeout: .now() + 30) == .success)
        #expect(control.paused, "stopping does not resume")
        #expect(control.stopRequested && !control.stopNowRequested)
        control.waitWhilePaused()   // returns: a stop is pending
        control.requestStop()
        #expect(control.stopNowRequested)
    }
}
