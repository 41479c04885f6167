import Foundation
import Testing
@testable import UpresKit

/// `--threads N` as a budget: at most N stages compute at once, nested stages run on the
/// permit their thread holds, no budget means no waiting.
@Suite("Core budget")
struct CoreBudgetTests {
    /// Runs `threads` threads that each enter the budget `rounds` times and hold it while
    /// spinning; returns the most that were inside at once. Until `target` stages have been
    /// inside together once, a holder keeps its permit until they are (once, up to 5 s): the peak
    /// does not depend on how the machine happens to schedule 300 us spins (CI under TSAN).
    static func peak(_ budget: CoreBudget, threads: Int, rounds: Int = 20, nested: Bool = false, target: Int = 1) -> Int {
        let lock = NSLock()
        nonisolated(unsafe) var inside = 0, most = 0, gaveUp = false
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread {
                for _ in 0..<rounds {
                    budget.run {
                        lock.lock(); inside += 1; most = max(most, inside); lock.unlock()
                        let deadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
                        while lock.withLock({ most < target && !gaveUp }) {
                            if DispatchTime.now().uptimeNanoseconds > deadline { lock.withLock { gaveUp = true } }
                            usleep(100)
                        }
                        let until = DispatchTime.now().uptimeNanoseconds + 300_000
                        while DispatchTime.now().uptimeNanoseconds < until {}
                        if nested { budget.run { _ = 0 } }   // a nested stage must not wait for a second permit
                        lock.lock(); inside -= 1; lock.unlock()
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        return most
    }

    @Test("at most N stages at once, and N are reached", arguments: [1, 2, 3])
    func bounded(_ n: Int) {
        let budget = CoreBudget(permits: n)
        let most = Self.peak(budget, threads: 6, target: n)
        #expect(most <= n)
        #expect(most == n, "with 6 threads competing, all \(n) permits are used")
    }

    @Test("a thread holding a permit runs nested stages on it (one permit, no deadlock)")
    func nested() {
        #expect(Self.peak(CoreBudget(permits: 1), threads: 3, rounds: 10, nested: true) == 1)
    }

    @Test("stage timers leave out the time spent waiting for a permit")
    func timerExcludesWaits() {
        let budget = CoreBudget(permits: 1)
        let holding = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread {
            budget.run {
                holding.signal()
                let until = DispatchTime.now().uptimeNanoseconds + 80_000_000   // holds the only permit 80 ms
                while DispatchTime.now().uptimeNanoseconds < until {}
            }
            done.signal()
        }.start()
        holding.wait()
        let wall = ContinuousClock.now
        let timer = StageTimer()
        budget.run { _ = 0 }
        let waited = (ContinuousClock.now - wall).seconds
        #expect(waited > 0.03, "the permit was busy: \(waited) s")
        #expect(timer.seconds < waited / 2, "compute \(timer.seconds) s of \(waited) s wall")
        #expect(CoreBudget.waitedOnThisThread > 0.03)
        done.wait()
    }

    @Test("no budget: every stage runs at once; configure changes the limit")
    func unlimited() {
        let budget = CoreBudget()
        #expect(budget.limit == nil)
        #expect(Self.peak(budget, threads: 4, rounds: 10, target: 2) >= 2)
        budget.configure(permits: 1)
        #expect(budget.limit == 1)
        #expect(Self.peak(budget, threads: 4, rounds: 10) == 1)
    }
}
