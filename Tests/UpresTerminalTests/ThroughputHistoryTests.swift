import Synchronization
import Testing
import UpresProgress
import UpresTerminal

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now = Mutex<Double>(1000)
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
}

@Suite("Throughput history")
struct ThroughputHistoryTests {
    func snapshot(_ frames: Int, job: Int = 1) -> PipelineStats {
        var s = PipelineStats()
        s.input = "clip\(job).mp4"
        s.jobIndex = job
        s.framesDone = frames
        return s
    }

    @Test("A steady rate fills the finished seconds; earlier ones are unknown")
    func steady() {
        let clock = ManualClock()
        var h = ThroughputHistory(seconds: 60, clock: clock.read)
        for f in 0...300 {          // 30 fps for 10 s
            h.record(snapshot(f))
            clock.advance(1.0 / 30)
        }
        let r = h.rates()
        #expect(r.count == 60)
        #expect(r.prefix(50).allSatisfy { $0 == nil })
        for v in r.suffix(9) { #expect(abs((v ?? 0) - 30) < 0.01, "\(r)") }
    }

    @Test("Slow frames are spread over the seconds they took")
    func slowFrames() {
        let clock = ManualClock()
        var h = ThroughputHistory(seconds: 10, clock: clock.read)
        h.record(snapshot(0))
        for f in 1...3 {
            clock.advance(4)
            h.record(snapshot(f))
        }
        clock.advance(0.5)
        let r = h.rates()
        for v in r.suffix(10) { #expect(abs((v ?? 0) - 0.25) < 1e-9, "\(r)") }
    }

    @Test("A pause shows as zeros, a new job starts from its own count, old seconds fall out")
    func pausesAndJobs() {
        let clock = ManualClock()
        var h = ThroughputHistory(seconds: 10, clock: clock.read)
        for f in 0...20 { h.record(snapshot(f)); clock.advance(0.1) }   // 10 fps for 2 s
        clock.advance(3)                                                // paused, no snapshots
        h.record(snapshot(500, job: 2))                                 // next file: no jump
        clock.advance(1)
        h.record(snapshot(510, job: 2))
        clock.advance(0.01)
        let r = h.rates().compactMap { $0 }
        #expect(r.max()! <= 10.0001, "\(r)")
        #expect(r.filter { $0 == 0 }.count >= 2, "\(r)")
        #expect(abs(r.last! - 9) < 0.01, "0.9 s of that second at 10 fps: \(r)")
        clock.advance(30)
        #expect(h.rates().allSatisfy { $0 == 0 })
    }

    @Test("Sparkline levels scale to the maximum")
    func sparkline() {
        #expect(Sparkline.render([nil, 0, 1, 2, 4, 8], columns: 10, glyphs: .unicode) == " ▁▁▂▄█")
        #expect(Sparkline.render([1, 2, 3, 4], columns: 2, glyphs: .unicode) == "▆█")
        #expect(Sparkline.render([0, 0], columns: 5, glyphs: .ascii) == "__")
    }
}
