/// The tile work of the frames in flight, as a state machine with no locks and no threads:
/// frames are admitted with their work (windows, each covering some tiles), workers take the
/// work in submission order, finished work completes its frame, and frames leave in
/// submission order whatever order their work finished in. `TilePipeline` holds one under its
/// lock and acts on what it answers; the tests drive it directly.
///
///     var s = TileScheduler<String>(framesInFlight: 2, tiles: 4)
///     s.admit([("a", [0, 1]), ("b", [2, 3])], doneTiles: [])   // frame 0
///     guard case .run(let w) = s.take() else { ... }           // "a", then "b"
///     s.finish(w)                                                // true once frame 0 is complete
///     s.popCompleted()                                           // 0
struct TileScheduler<Item> {
    /// Work taken by a worker: the item, the frame it belongs to and the tiles it covers.
    struct Work {
        let frame: Int
        let item: Item
        let tiles: [Int]
    }

    /// What a worker does next.
    enum Take {
        case run(Work)
        /// Nothing queued yet: wait for a frame or for the end.
        case wait
        /// Aborted, or the input is finished and every item taken: the worker exits.
        case stop
    }

    private struct FrameState {
        let index: Int
        var tileDone: [Bool]
        var remaining: Int
    }

    let capacity: Int
    let tileCount: Int
    private var queue: [Work] = []
    private var head = 0
    /// In flight, in submission order.
    private var frames: [FrameState] = []
    private var admitted = 0
    private(set) var isFinished = false
    private(set) var isAborted = false

    init(framesInFlight: Int, tiles: Int) {
        precondition(framesInFlight >= 1 && tiles >= 1, "a scheduler needs room for a frame of tiles")
        capacity = framesInFlight
        tileCount = tiles
    }

    var framesInFlight: Int { frames.count }
    var hasRoom: Bool { frames.count < capacity }
    var queuedItems: Int { queue.count - head }
    /// The input is finished and every frame has left.
    var isDrained: Bool { frames.isEmpty && isFinished }

    /// Admits the next frame (its index is the number admitted before it) with `work` queued in
    /// order; `doneTiles` need no work (flat tiles). Returns the frame's index and whether it is
    /// complete already (nothing to run). A frame may still come after `finishInput` (the job
    /// can end the input on another thread while a frame is being submitted, after a failure):
    /// its work is run like any other.
    @discardableResult
    mutating func admit(_ work: [(Item, [Int])], doneTiles: [Int]) -> (index: Int, complete: Bool) {
        let index = admitted
        admitted += 1
        var state = FrameState(index: index, tileDone: Array(repeating: false, count: tileCount), remaining: 0)
        for t in doneTiles { state.tileDone[t] = true }
        for (item, tiles) in work {
            queue.append(Work(frame: index, item: item, tiles: tiles))
            state.remaining += tiles.count
        }
        frames.append(state)
        return (index, state.remaining == 0)
    }

    /// The next work for a worker, in submission order.
    mutating func take() -> Take {
        if isAborted { return .stop }
        guard head < queue.count else { return isFinished ? .stop : .wait }
        let work = queue[head]
        head += 1
        if head > 4096 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
        return .run(work)
    }

    /// Marks `work` done; true when its frame is now complete. Work of a frame that is no
    /// longer in flight (after `abort`) changes nothing.
    @discardableResult
    mutating func finish(_ work: Work) -> Bool {
        guard let i = frames.firstIndex(where: { $0.index == work.frame }) else { return false }
        for t in work.tiles { frames[i].tileDone[t] = true }
        frames[i].remaining -= work.tiles.count
        return frames[i].remaining == 0
    }

    /// Whether tile `tile` of frame `frame` is done: frames that have left are done, frames not
    /// admitted yet are not.
    func isDone(frame: Int, tile: Int) -> Bool {
        if let f = frames.first(where: { $0.index == frame }) { return f.tileDone[tile] }
        return frame < admitted && !isAborted
    }

    func isComplete(frame: Int) -> Bool {
        if let f = frames.first(where: { $0.index == frame }) { return f.remaining == 0 }
        return frame < admitted && !isAborted
    }

    /// The oldest frame in flight leaves when it is complete: its index, else nil.
    mutating func popCompleted() -> Int? {
        guard let first = frames.first, first.remaining == 0 else { return nil }
        frames.removeFirst()
        return first.index
    }

    /// No more frames come: workers stop once the queue is empty.
    mutating func finishInput() { isFinished = true }

    /// Drops every queued item and frame in flight; workers stop.
    mutating func abort() {
        isAborted = true
        isFinished = true
        queue.removeAll()
        head = 0
        frames.removeAll()
    }
}
