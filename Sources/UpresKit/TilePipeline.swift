import Foundation
import UpresEngine
import UpresMedia

/// The SR frame path: each frame's luma is cut into tiles (`TileGrid`), each tile is
/// classified (static / flat / easy / medium / hard: reuse, then the family's learned
/// classifier or gradient thresholds) and sent to the cheapest path that restores it well,
/// `workers` threads run the tiles of several frames at once, and frames leave in order.
/// Adjacent tiles of one branch run as one window (`TileWindow`), sharing their margins, unless
/// `--tile` fixed the window size. Chroma is scaled classically (Lanczos, at its siting) on the
/// submitting thread while the workers run luma tiles; RGB networks make chroma too, and when
/// no tile can be flat nothing is scaled classically at all.
///
/// Output is bit-identical for any worker count: a tile's result depends only on its input
/// window and class, and owned regions never overlap.
public final class TilePipeline: FramePipeline, @unchecked Sendable {
    public let family: ModelFamily
    public let settings: TileSettings
    public let input: VideoFormat
    public let output: VideoFormat
    public let grid: TileGrid
    public let name: String
    private let scale: Int
    private let networkFormat: VideoFormat
    private let depth: Int
    /// RGB networks (3 channels) run on RGB converted from the YUV source with its stated matrix
    /// and range, and write luma and chroma back; luma networks touch the Y plane only.
    private let rgb: Bool
    private let chromaShift: (x: Int, y: Int)
    private let conversion: YUVConversion
    private let leftSited: Bool
    /// Submitting thread only.
    private let classical: FrameScaler           // source -> output: chroma and a Lanczos luma
    private let toNetworkSize: FrameScaler?      // source -> network size (luma base), when output differs
    private let resize: FrameScaler?             // network size -> output size
    /// RGB networks with no flat tiles and no alpha write every sample: no Lanczos under them.
    private let networkWritesAll: Bool
    private let outputFrames: FramePool, networkSizeFrames: FramePool   // frame buffers, reused
    /// Full-frame Lanczos passes made so far (tests).
    private(set) var classicalPasses = 0
    private var references: [[UInt8]]            // per tile: the input window its cached output came from
    private var referenceValid: [Bool]
    private var previousJob: FrameJob?
    private var previousWasKey = true
    private var submitted = 0
    private var classifySeconds = 0.0        // guarded by `lock`
    private var stitchSeconds = 0.0          // guarded by `lock`
    /// Multiply-adds of one tile per class (from the sessions' graphs).
    private let tileMACs: [TileClass: Double]
    /// The family's learned tile classifier on a tile core (fp32, submitting thread).
    private let classifierSession: Session?
    /// Each worker's sessions made at start to check the shapes (under `lock`).
    private var firstSessions: [[(Session, Model)]] = []
    /// Largest merged window, in input pixels with margins; nil = every tile alone.
    private let mergeLimit: Int?

    // Shared with the workers, guarded by `lock`: which work runs next and which frames are
    // complete (`TileScheduler`), the frames in flight (their pixels), the first failure.
    private let lock = NSCondition()
    private var scheduler: TileScheduler<WorkItem>
    private var inFlight: [FrameJob] = []
    private var failure: Error?
    private var workerBusy: [Double]
    private var srSeconds = 0.0
    private var tilesDone = 0
    private var classTotals = ClassCounts()
    private var lastFrameClasses = ClassCounts()
    private var lastFrameMap: [TileClass] = []
    private var macsDone = 0.0
    private var macsAllHard = 0.0
    private let workersDone = DispatchGroup()

    public init(family: ModelFamily, settings: TileSettings, input: VideoFormat, output: VideoFormat) throws {
        precondition(input.pixelFormat == output.pixelFormat, "an upscaler keeps the pixel format")
        let hard = family.hard.info
        rgb = hard.inChannels == 3
        let shift = PixelFormat.chromaShift(input.pixelFormat)
        guard !PixelFormat.isRGB(input.pixelFormat) else {
            throw MediaInputError("the \(rgb ? "RGB" : "luma") model \(hard.name) runs on YUV video; "
                                  + "\(PixelFormat.name(input.pixelFormat)) sources are not supported yet")
        }
        if rgb && PixelFormat.planeCount(input.pixelFormat) < 3 {
            throw MediaInputError("the RGB model \(hard.name) needs a planar YUV source, not \(PixelFormat.name(input.pixelFormat))")
        }
        chromaShift = shift
        conversion = YUVConversion(weights: LumaWeights(matrix: input.colour.effectiveMatrix(height: input.height)),
                                   fullRange: input.colour.isFullRange, depth: PixelFormat.bitDepth(input.pixelFormat))
        leftSited = input.colour.chromaSitedLeft
        depth = PixelFormat.bitDepth(input.pixelFormat)
        guard depth <= 16 else { throw MediaInputError("unsupported bit depth \(depth)") }
        self.family = family
        self.settings = settings
        self.input = input
        self.output = output
        scale = family.scale
        name = "\(family.name) (\(settings.precision.rawValue))"
        // RGB tiles write chroma: their regions must start on the chroma grid.
        let side = WindowSize.tile(for: family, settings: settings, width: Int(input.width), height: Int(input.height))
        grid = TileGrid(width: Int(input.width), height: Int(input.height), tile: side, margin: family.margin,
                        align: rgb ? 1 << max(shift.x, shift.y) : 1, edges: family.edges)
        networkFormat = input.resized(width: input.width * Int32(scale), height: input.height * Int32(scale))
        let sameSize = networkFormat.width == output.width && networkFormat.height == output.height
        classical = try FrameScaler(from: input, to: output, filter: .lanczos, threads: 1)
        toNetworkSize = sameSize ? nil : try FrameScaler(from: input, to: networkFormat, filter: .lanczos, threads: 1)
        resize = sameSize ? nil : try FrameScaler(from: networkFormat, to: output, filter: .lanczos, threads: 1)
        outputFrames = FramePool(width: output.width, height: output.height, format: output.pixelFormat)
        networkSizeFrames = FramePool(width: networkFormat.width, height: networkFormat.height, format: output.pixelFormat)
        networkWritesAll = rgb && PixelFormat.planeCount(output.pixelFormat) == 3 && settings.branch != .flat
            && (!settings.classes || (family.classifier == nil && family.thresholds == nil))
        references = Array(repeating: [], count: grid.tiles.count)
        referenceValid = Array(repeating: false, count: grid.tiles.count)
        workerBusy = Array(repeating: 0, count: settings.workers)
        scheduler = TileScheduler(framesInFlight: settings.framesInFlight, tiles: grid.tiles.count)
        let shape = Tensor.Shape(1, rgb ? 3 : 1, grid.inputHeight, grid.inputWidth)
        // A model that cannot run on these tiles is the model file's problem: name it.
        func engine<T>(_ m: Model, _ body: () throws -> T) throws -> T {
            do { return try body() } catch {
                throw ModelFileError("\(m.info.displayName): cannot run on \(shape.w)x\(shape.h) tiles: \(error)")
            }
        }
        var macs: [TileClass: Double] = [:]
        for c in [TileClass.easy, .medium, .hard] {
            let m = family.model(for: c)
            macs[c] = Double(try engine(m) { try m.fusedGraph.multiplyAdds(input: shape) })
        }
        tileMACs = macs
        // The activation budget bounds merged windows (peak bytes grow with the window's area).
        let (tw, th) = (grid.inputWidth, grid.inputHeight)
        mergeLimit = settings.windowBudget.map { budget in
            budget / max(1, WindowSize.peakBytes(family, width: tw, height: th) / (tw * th))
        }
        if settings.classes, let c = family.classifier {
            classifierSession = try Session(model: c.model, input: Tensor.Shape(1, 1, grid.coreHeight, grid.coreWidth),
                                            precision: .fp32)
        } else {
            classifierSession = nil
        }
        // Fail now, not in a worker, if the engine cannot run these shapes: every worker's
        // sessions of the tile shape, made side by side (the start waits for one, not for
        // each worker's in turn), which the workers then start with.
        firstSessions = try SessionCache.make(family.networks, shape, settings.precision, workers: settings.workers) { m, result in
            try engine(m) { try result.get() }
        }
        for w in 0..<settings.workers {
            workersDone.enter()
            let t = Thread { [self] in
                workerLoop(w)
                workersDone.leave()
            }
            t.name = "upres-sr-\(w)"
            t.start()
        }
    }

    deinit {
        lock.withLock { scheduler.abort(); lock.broadcast() }
        workersDone.wait()
    }

    // MARK: - Submitting thread

    public var isFull: Bool { lock.withLock { !scheduler.hasRoom } }

    /// Waits while `framesInFlight` frames are in flight (the encode thread takes them); returns
    /// without submitting after `abort`.
    public func submit(_ frame: Frame) throws {
        lock.lock()
        while !scheduler.hasRoom && !scheduler.isAborted && failure == nil { lock.wait() }
        let stop = scheduler.isAborted
        lock.unlock()
        try rethrowFailure()
        if stop { return }
        let scaling = StageTimer()
        let source = try frame.reference()
        let out = try outputFrames.frame()
        let budget = CoreBudget.shared
        if !networkWritesAll { try budget.run { try classical.scale(source, into: out) }; classicalPasses += 1 }
        try out.copyProperties(from: source)
        out.sampleAspectRatio = output.sampleAspectRatio
        var base = out
        if let toNetworkSize {
            base = try networkSizeFrames.frame()
            if !networkWritesAll { try budget.run { try toNetworkSize.scale(source, into: base) }; classicalPasses += 1 }
        }
        let scaled = scaling.seconds
        let classifying = StageTimer()
        let job = FrameJob(index: submitted, source: source, base: base, output: out, depth: depth,
                           tiles: grid.tiles.count, previous: previousJob, chroma: rgb ? chromaShift : nil, leftSited: leftSited)
        submitted += 1
        try budget.run { try classify(job, isKey: source.isKeyFrame) }
        let classified = classifying.seconds

        lock.lock()
        // Stage times are read by `fill` on the encode thread: updated under the lock.
        stitchSeconds += scaled
        classifySeconds += classified
        // Aborted while this frame was being prepared (a failure on another thread): drop it.
        if scheduler.isAborted { lock.unlock(); return }
        inFlight.append(job)
        let windows = grid.windows(classes: job.classes, maxPixels: mergeLimit ?? 0) { [mergeLimit] c in
            mergeLimit != nil && c != .flat && c != .static
        }
        let work = windows.filter { job.classes[$0.row * grid.columns + $0.column] != .flat }.map { w in
            (WorkItem(job: job, window: w, cls: job.classes[w.row * grid.columns + w.column]), w.tiles(in: grid))
        }
        let (index, complete) = scheduler.admit(work, doneTiles: grid.tiles.filter { job.classes[$0.index] == .flat }.map(\.index))
        precondition(index == job.index, "frames are admitted in submission order")
        if complete { job.releasePrevious() }
        lock.broadcast()
        lock.unlock()
        previousJob = job
    }

    /// Decides each tile's class: static when its input window matches the one its cached
    /// output came from, else by the classifier (or the fixed branch with classes off).
    private func classify(_ job: FrameJob, isKey: Bool) throws {
        let plane = job.sourcePlane
        let m = grid.margin
        var limit: Int? = settings.reuseThreshold.map { $0 * (depth > 8 ? (1 << (depth - 8)) : 1) }
        if job.previous == nil { limit = nil }
        // Keyframes after inter frames start a new group: with a tolerance, drop the cache so
        // small differences cannot accumulate across it (exact reuse is always safe).
        if let l = limit, l > 0, isKey, !previousWasKey { limit = nil }
        previousWasKey = isKey
        for t in grid.tiles {
            // The window the network reads, clamped to the frame (mirrored pixels come from it).
            let x0 = max(0, t.x - m), y0 = max(0, t.y - m)
            let x1 = min(grid.width, t.x + grid.coreWidth + m), y1 = min(grid.height, t.y + grid.coreHeight + m)
            if let l = limit, referenceValid[t.index],
               Self.windowDifference(plane, references[t.index], x0, y0, x1 - x0, y1 - y0, limit: l) <= l {
                job.classes[t.index] = .static
                continue
            }
            Self.storeWindow(plane, &references[t.index], x0, y0, x1 - x0, y1 - y0)
            referenceValid[t.index] = settings.reuseThreshold != nil
            if !settings.classes {
                job.classes[t.index] = settings.branch
            } else if let c = family.classifier, let session = classifierSession {
                plane.readWindow(x0: t.x, y0: t.y, w: grid.coreWidth, h: grid.coreHeight, into: session.inputPointer)
                try session.execute()
                let d = session.outputPointer
                job.classes[t.index] = c.choose((d[0], d[1], d[2]), w: grid.coreWidth, h: grid.coreHeight, scale: scale, margin: m,
                                                lambdaScale: settings.macCost)
            } else if let th = family.thresholds {
                job.classes[t.index] = th.classify(gradient: plane.meanAbsGradient(x: t.x, y: t.y, w: grid.coreWidth, h: grid.coreHeight))
            } else {
                job.classes[t.index] = .hard
            }
        }
    }

    public func next(wait: Bool) throws -> Frame? {
        lock.lock()
        while true {
            if let f = failure { lock.unlock(); throw f }
            if scheduler.isAborted { lock.unlock(); return nil }
            if let index = scheduler.popCompleted() { precondition(inFlight.first?.index == index); break }
            if !wait || scheduler.isDrained { lock.unlock(); return nil }
            lock.wait()
        }
        let job = inFlight.removeFirst()
        lock.broadcast()   // room for the submitter
        var counts = ClassCounts()
        for c in job.classes { counts[c] += 1 }
        classTotals = classTotals + counts
        lastFrameClasses = counts
        lastFrameMap = job.classes
        macsAllHard += tileMACs[.hard]! * Double(grid.tiles.count)
        lock.unlock()

        let timer = StageTimer()
        if let resize {
            let big = try outputFrames.frame()
            try CoreBudget.shared.run { try resize.scale(job.base, into: big) }
            LumaPlane(frame: job.output, depth: depth).copyAll(from: LumaPlane(frame: big, depth: depth))
            if rgb {   // the network made the chroma too
                for p in 1...2 {
                    LumaPlane(frame: job.output, plane: p, depth: depth, shift: chromaShift)
                        .copyAll(from: LumaPlane(frame: big, plane: p, depth: depth, shift: chromaShift))
                }
            }
        }
        let stitched = timer.seconds
        lock.lock()
        stitchSeconds += stitched
        lock.unlock()
        return job.output
    }

    public func finish() { lock.withLock { scheduler.finishInput(); lock.broadcast() } }

    public func abort() {
        lock.lock()
        scheduler.abort()
        inFlight.removeAll()
        lock.broadcast()
        lock.unlock()
    }

    private func rethrowFailure() throws {
        lock.lock()
        let f = failure
        lock.unlock()
        if let f { throw f }
    }

    public func fill(_ stats: inout PipelineStats) {
        lock.lock()
        defer { lock.unlock() }
        stats.threads = settings.workers
        stats.precision = settings.precision.rawValue
        stats.tileSize = grid.coreWidth == grid.width && grid.coreHeight == grid.height ? max(grid.width, grid.height) : grid.tile
        stats.tileColumns = grid.columns
        stats.tileRows = grid.rows
        stats.classesTotal = classTotals
        stats.classesLastFrame = lastFrameClasses
        stats.lastFrameMap = lastFrameMap
        stats.multiplyAdds = macsDone
        stats.multiplyAddsAllHard = macsAllHard
        stats.queueDepths = ["tiles": scheduler.queuedItems, "frames": scheduler.framesInFlight]
        stats.queueCapacities = ["tiles": settings.framesInFlight * grid.tiles.count, "frames": settings.framesInFlight]
        stats.stageSeconds.classify = classifySeconds
        stats.stageSeconds.sr = srSeconds
        stats.stageSeconds.stitch = stitchSeconds
        stats.workerBusy = workerBusy   // cumulative busy seconds; the job turns them into shares
        stats.tilesPerSecond = Double(tilesDone)   // cumulative count; the job divides by time
    }

    // MARK: - Workers

    private struct WorkItem {
        let job: FrameJob
        let window: TileWindow
        let cls: TileClass
    }

    private func workerLoop(_ w: Int) {
        var sessions = SessionCache(capacity: 12)
        lock.lock()
        let handed = firstSessions[w]
        firstSessions[w] = []
        lock.unlock()
        for (session, model) in handed { try? sessions.insert(session, model) }
        while true {
            lock.lock()
            var next = scheduler.take()
            while case .wait = next { lock.wait(); next = scheduler.take() }
            lock.unlock()
            guard case .run(let work) = next else { return }
            let item = work.item

            let timer = StageTimer()
            var macs = 0.0
            do {
                if item.cls == .static {
                    try copyFromPrevious(item, tile: work.tiles[0])
                } else {
                    let r = grid.input(of: item.window)
                    let shape = Tensor.Shape(1, rgb ? 3 : 1, r.h, r.w)
                    macs = try CoreBudget.shared.run {
                        let (session, cost) = try sessions.session(family.model(for: item.cls), shape, settings.precision)
                        try run(item, session)
                        return cost
                    }
                }
            } catch {
                lock.lock()
                if failure == nil { failure = error }
                lock.broadcast()
                lock.unlock()
                return
            }
            let busy = timer.seconds
            lock.lock()
            workerBusy[w] += busy
            srSeconds += busy
            tilesDone += work.tiles.count
            macsDone += macs
            if scheduler.finish(work) { item.job.releasePrevious() }
            lock.broadcast()
            lock.unlock()
        }
    }

    private func run(_ item: WorkItem, _ session: Session) throws {
        let t = item.window
        let s = scale
        let r = grid.input(of: t)
        let inputWidth = r.w, inputHeight = r.h
        if let source = item.job.sourceYUV {
            RGBTiles.read(source, conversion, x0: r.x, y0: r.y, w: inputWidth, h: inputHeight,
                          into: session.inputPointer)
        } else {
            item.job.sourcePlane.readWindow(x0: r.x, y0: r.y, w: inputWidth, h: inputHeight,
                                            into: session.inputPointer)
        }
        try session.execute()
        let outStride = inputWidth * s
        let ox = (t.ownedX - r.x) * s, oy = (t.ownedY - r.y) * s
        let src = session.outputPointer + oy * outStride + ox
        let planeStride = outStride * inputHeight * s
        let finite: Bool
        if let base = item.job.baseYUV {
            finite = RGBTiles.write(base, conversion, x: t.ownedX * s, y: t.ownedY * s, w: t.ownedWidth * s, h: t.ownedHeight * s,
                                    from: src, srcStride: outStride, planeStride: planeStride)
        } else {
            finite = item.job.basePlane.writeRegion(x: t.ownedX * s, y: t.ownedY * s, w: t.ownedWidth * s, h: t.ownedHeight * s,
                                                    from: src, srcStride: outStride)
        }
        if !finite {
            throw NonFiniteOutputError(model: session.model.info.displayName, frame: item.job.index + 1, x: t.x, y: t.y,
                                       kind: NonFiniteOutputError.kind(src, w: t.ownedWidth * s, h: t.ownedHeight * s, stride: outStride,
                                                                       planes: rgb ? 3 : 1, planeStride: planeStride),
                                       precision: session.precision)
        }
    }

    /// A static tile: the previous frame's output of this tile, once that tile is done (it was
    /// queued earlier, so it is done or being worked on: no deadlock).
    private func copyFromPrevious(_ item: WorkItem, tile: Int) throws {
        guard let prev = item.job.previous else { preconditionFailure("a static tile without a previous frame") }
        lock.lock()
        while !scheduler.isDone(frame: prev.index, tile: tile) && failure == nil && !scheduler.isAborted { lock.wait() }
        lock.unlock()
        let t = item.window, s = scale
        item.job.basePlane.copyRegion(from: prev.basePlane, x: t.ownedX * s, y: t.ownedY * s,
                                      w: t.ownedWidth * s, h: t.ownedHeight * s)
        if let base = item.job.baseYUV, let from = prev.baseYUV {   // RGB networks made the chroma too
            let x0 = (t.ownedX * s) >> base.shiftX, y0 = (t.ownedY * s) >> base.shiftY
            let x1 = min(base.u.width, ((t.ownedX + t.ownedWidth) * s + (1 << base.shiftX) - 1) >> base.shiftX)
            let y1 = min(base.u.height, ((t.ownedY + t.ownedHeight) * s + (1 << base.shiftY) - 1) >> base.shiftY)
            base.u.copyRegion(from: from.u, x: x0, y: y0, w: x1 - x0, h: y1 - y0)
            base.v.copyRegion(from: from.v, x: x0, y: y0, w: x1 - x0, h: y1 - y0)
        }
    }
}
