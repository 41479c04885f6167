import Testing
@testable import UpresKit

/// The tile scheduler on its own, with no threads: events in (frames admitted, work taken and
/// finished, end of input, abort), answers out.
@Suite("Tile scheduler, without threads")
struct TileSchedulerTests {
    typealias Scheduler = TileScheduler<String>

    static func take(_ s: inout Scheduler) -> Scheduler.Work? {
        if case .run(let w) = s.take() { return w }
        return nil
    }

    @Test("work is taken in submission order; frames leave in order though later ones finish first")
    func order() {
        var s = Scheduler(framesInFlight: 3, tiles: 4)
        let r0 = s.admit([("a0", [0, 1]), ("a1", [2, 3])], doneTiles: []); #expect(r0.index == 0 && r0.complete == false)
        let r1 = s.admit([("b0", [0, 1, 2, 3])], doneTiles: []); #expect(r1.index == 1 && r1.complete == false)
        let a0 = Self.take(&s)!, a1 = Self.take(&s)!, b0 = Self.take(&s)!
        #expect([a0.item, a1.item, b0.item] == ["a0", "a1", "b0"])
        #expect(a0.frame == 0 && b0.frame == 1 && b0.tiles == [0, 1, 2, 3])
        if case .wait = s.take() {} else { Issue.record("an empty queue before the end should make a worker wait") }
        let f1 = s.finish(b0); #expect(f1)     // frame 1 is complete,
        let c1 = s.popCompleted(); #expect(c1 == nil)   // but frame 0 leaves first
        let f2 = s.finish(a1); #expect(!f2)
        #expect(s.isDone(frame: 0, tile: 2) && !s.isDone(frame: 0, tile: 0))
        let f3 = s.finish(a0); #expect(f3)
        let c2 = s.popCompleted(); #expect(c2 == 0)
        let c3 = s.popCompleted(); #expect(c3 == 1)
        let c4 = s.popCompleted(); #expect(c4 == nil)
        #expect(s.queuedItems == 0 && s.framesInFlight == 0)
    }

    @Test("room for framesInFlight frames; a frame of flat tiles only is complete at once")
    func capacityAndFlatFrames() {
        var s = Scheduler(framesInFlight: 2, tiles: 2)
        #expect(s.hasRoom)
        let r0 = s.admit([], doneTiles: [0, 1]); #expect(r0.index == 0 && r0.complete == true)
        #expect(s.isDone(frame: 0, tile: 1))
        let r1 = s.admit([("x", [0])], doneTiles: [1]); #expect(r1.index == 1 && r1.complete == false)
        #expect(!s.hasRoom)
        let c5 = s.popCompleted(); #expect(c5 == 0)
        #expect(s.hasRoom)
        #expect(s.isDone(frame: 0, tile: 0), "a frame that has left is done")
        #expect(!s.isDone(frame: 1, tile: 0) && s.isDone(frame: 1, tile: 1))
        #expect(!s.isDone(frame: 2, tile: 0), "a frame not admitted yet is not done")
    }

    @Test("a static tile's dependency: done once the frame before finished that tile")
    func staticDependency() {
        var s = Scheduler(framesInFlight: 2, tiles: 2)
        s.admit([("p0", [0]), ("p1", [1])], doneTiles: [])
        s.admit([("static", [1])], doneTiles: [0])
        let p0 = Self.take(&s)!, p1 = Self.take(&s)!, st = Self.take(&s)!
        #expect(st.item == "static" && !s.isDone(frame: 0, tile: 1))
        s.finish(p1)
        #expect(s.isDone(frame: 0, tile: 1), "the static tile may copy now")
        s.finish(st)
        #expect(s.isComplete(frame: 1) && !s.isComplete(frame: 0))
        s.finish(p0)
        let c8 = s.popCompleted(), c9 = s.popCompleted(); #expect(c8 == 0 && c9 == 1)
    }

    @Test("end of input: workers stop once the queue is empty and the last frame has left")
    func endOfInput() {
        var s = Scheduler(framesInFlight: 2, tiles: 1)
        s.admit([("a", [0])], doneTiles: [])
        s.finishInput()
        #expect(!s.isDrained)
        let a = Self.take(&s)!
        if case .stop = s.take() {} else { Issue.record("nothing left after the end: the worker stops") }
        s.finish(a)
        let c6 = s.popCompleted(); #expect(c6 == 0)
        #expect(s.isDrained)
    }

    @Test("a frame admitted after the end of the input is still run (a failure can end the input mid-submit)")
    func admittedAfterEnd() {
        var s = Scheduler(framesInFlight: 2, tiles: 1)
        s.finishInput()
        s.admit([("late", [0])], doneTiles: [])
        let w = Self.take(&s)
        #expect(w?.item == "late")
        if case .stop = s.take() {} else { Issue.record("then the worker stops") }
        if let w { s.finish(w) }
        let c = s.popCompleted(); #expect(c == 0)
        #expect(s.isDrained)
    }

    @Test("abort drops the queue and the frames; late finishes change nothing")
    func abort() {
        var s = Scheduler(framesInFlight: 2, tiles: 1)
        s.admit([("a", [0])], doneTiles: [])
        s.admit([("b", [0])], doneTiles: [])
        let a = Self.take(&s)!
        s.abort()
        if case .stop = s.take() {} else { Issue.record("an aborted scheduler stops its workers") }
        let f4 = s.finish(a); #expect(!f4)
        let c10 = s.popCompleted(); #expect(c10 == nil && s.queuedItems == 0 && s.framesInFlight == 0 && s.isAborted)
    }

    @Test("a long run keeps its queue compact")
    func compaction() {
        var s = Scheduler(framesInFlight: 1, tiles: 1)
        for _ in 0..<10_000 {
            s.admit([("t", [0])], doneTiles: [])
            let w = Self.take(&s)!
            let f5 = s.finish(w); #expect(f5)
            let c7 = s.popCompleted(); #expect(c7 != nil)
        }
        #expect(s.queuedItems == 0)
    }
}
