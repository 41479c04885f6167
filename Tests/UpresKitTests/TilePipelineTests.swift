import Foundation
import Testing
import CFFmpeg
@testable import UpresKit
import UpresEngine
import UpresMedia

/// Synthetic pictures and model families for the tile pipeline tests.
enum Pictures {
    /// A frame whose luma has three kinds of content side by side: flat, a smooth ramp, and
    /// high-frequency texture; `shift` moves a bright square (motion) over the texture part.
    static func frame(width: Int, height: Int, format: AVPixelFormat = AV_PIX_FMT_YUV420P, shift: Int = 0,
                      seed: UInt64 = 1) throws -> Frame {
        let f = try Frame(width: Int32(width), height: Int32(height), format: format)
        let depth = PixelFormat.bitDepth(format)
        let plane = LumaPlane(frame: f, depth: depth)
        var rng = seed
        func noise() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(rng >> 58)   // 0..63
        }
        let maxV = (1 << depth) - 1
        for y in 0..<height {
            for x in 0..<width {
                var v: Int
                if x < width / 3 { v = 100 }
                else if x < 2 * width / 3 { v = 60 + (x * 90) / width + (y * 40) / height }
                else { v = 60 + noise() * (1 + 2 * y / height) }   // texture, stronger further down
                if x >= 2 * width / 3 + shift && x < 2 * width / 3 + shift + 9 && y >= 4 && y < 13 { v = 235 }
                v = v * maxV / 255
                let row = plane.base + y * plane.stride
                if plane.bytesPerSample == 1 { row[x] = UInt8(v) } else {
                    UnsafeMutableRawPointer(row).storeBytes(of: UInt16(v).littleEndian, toByteOffset: 2 * x, as: UInt16.self)
                }
            }
        }
        let shiftC = PixelFormat.chromaShift(format)
        for p in 1..<3 {
            guard let base = f.data(plane: p) else { continue }
            let cw = (width + (1 << shiftC.x) - 1) >> shiftC.x, ch = (height + (1 << shiftC.y) - 1) >> shiftC.y
            for y in 0..<ch {
                for x in 0..<cw { base[y * f.lineSize(plane: p) + x] = UInt8(100 + (x + 2 * y + p * 17) % 50) }
            }
        }
        f.pts = Int64(shift)
        return f
    }

    static func format(_ f: Frame) -> VideoFormat {
        VideoFormat(width: f.width, height: f.height, pixelFormat: f.format, sampleAspectRatio: AVRational(num: 1, den: 1))
    }

    static func spec(_ name: String) -> ArchitectureSpec { ModelZoo.architectures.first { $0.name == name }! }

    /// A three-branch x2 family with seeded random weights and routing thresholds that give
    /// every class on `frame(...)` content.
    static func routedFamily() throws -> ModelFamily {
        let easy = try ModelZoo.randomModel(spec("plain-x2-c16n4"), seed: 3, name: "test-easy")
        let medium = try ModelZoo.randomModel(spec("espcn-x2"), seed: 4, name: "test-medium")
        let routing = #"{"version": 1, "statistic": "mean_abs_gradient", "thresholds": {"flat": 0.5, "easy": 2.5, "medium": 55}, "branches": {"easy": "test-easy", "medium": "test-medium"}, "tile": 32}"#
        let hard = try ModelZoo.randomModel(spec("plain-x2-c32n8"), seed: 5, name: "test-hard", metadata: ["routing": routing])
        return try ModelFamily(hard: hard) { ["test-easy": easy, "test-medium": medium][$0] }
    }

    /// Runs frames through a pipeline (submitting and taking on two threads, as a job does).
    /// - Parameter passes: told the number of full-frame Lanczos passes the pipeline made.
    static func run(_ family: ModelFamily, _ settings: TileSettings, _ frames: [Frame],
                    passes: ((Int) -> Void)? = nil) throws -> ([Frame], PipelineStats) {
        let input = format(frames[0])
        let output = input.resized(width: input.width * Int32(family.scale), height: input.height * Int32(family.scale))
        let pipeline = try TilePipeline(family: family, settings: settings, input: input, output: output)
        defer { pipeline.abort() }
        nonisolated(unsafe) var results: [Frame] = []
        nonisolated(unsafe) var failure: Error?
        let done = DispatchSemaphore(value: 0)
        let box = UncheckedBox(pipeline)
        Thread {
            do { while let f = try box.value.next(wait: true) { results.append(f) } } catch { failure = error }
            done.signal()
        }.start()
        for f in frames { try pipeline.submit(f) }
        pipeline.finish()
        done.wait()
        if let failure { throw failure }
        var stats = PipelineStats()
        pipeline.fill(&stats)
        passes?(pipeline.classicalPasses)
        return (results, stats)
    }

    static func lumaBytes(_ f: Frame) -> [UInt8] {
        let depth = PixelFormat.bitDepth(f.format)
        let p = LumaPlane(frame: f, depth: depth)
        var out: [UInt8] = []
        for y in 0..<p.height { out.append(contentsOf: UnsafeBufferPointer(start: p.base + y * p.stride, count: p.width * p.bytesPerSample)) }
        return out
    }
}

@Suite("Tile grid")
struct TileGridTests {
    @Test("owned regions partition the frame; every tile has the same size", arguments: [
        (1, 1, 16), (7, 5, 16), (128, 128, 128), (129, 127, 128), (321, 181, 128), (640, 360, 96), (1001, 17, 64), (5, 300, 7)])
    func partition(_ w: Int, _ h: Int, _ t: Int) {
        let g = TileGrid(width: w, height: h, tile: t, margin: 10)
        var hits = [Int](repeating: 0, count: w * h)
        for tile in g.tiles {
            #expect(tile.x >= 0 && tile.y >= 0 && tile.x + g.coreWidth <= w && tile.y + g.coreHeight <= h)
            #expect(tile.ownedX >= tile.x && tile.ownedX + tile.ownedWidth == tile.x + g.coreWidth)
            for y in tile.ownedY..<(tile.ownedY + tile.ownedHeight) {
                for x in tile.ownedX..<(tile.ownedX + tile.ownedWidth) { hits[y * w + x] += 1 }
            }
        }
        #expect(hits.allSatisfy { $0 == 1 }, "\(w)x\(h) tile \(t): every pixel owned exactly once")
        #expect(g.coreWidth <= t && g.coreHeight <= t)
        #expect(g.tiles.count == g.columns * g.rows)
        #expect(g.columns == (w + t - 1) / t && g.rows == (h + t - 1) / t)
    }

    @Test func mirror() {
        #expect((-3...7).map { TileGrid.mirror($0, 5) } == [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1])
        #expect(TileGrid.mirror(-12, 3) == 0 && TileGrid.mirror(9, 1) == 0)
        for i in -40...40 { #expect((0..<4).contains(TileGrid.mirror(i, 4))) }
    }
}

@Suite("Tile pipeline")
struct TilePipelineTests {
    /// Whole-frame output with the pipeline's border rule: the frame mirror-padded by the
    /// margin, run in one piece, the margin cropped; float, in [0, 1].
    static func wholeFrame(_ model: Model, _ frame: Frame, margin m: Int) throws -> (values: [Float], width: Int) {
        let p = LumaPlane(frame: frame, depth: PixelFormat.bitDepth(frame.format))
        let w = p.width + 2 * m, h = p.height + 2 * m
        let shape = Tensor.Shape(1, 1, h, w)
        let session = try Session(model: model, input: shape, precision: .fp32)
        p.readWindow(x0: -m, y0: -m, w: w, h: h, into: session.inputPointer)
        try session.execute()
        let s = model.info.scale
        var out: [Float] = []
        for y in 0..<(p.height * s) {
            let row = session.outputPointer + (y + m * s) * w * s + m * s
            out.append(contentsOf: UnsafeBufferPointer(start: row, count: p.width * s))
        }
        return (out, p.width * s)
    }

    static var models: [Model] {
        get throws {
            try EmbeddedModels.names.map { try EmbeddedModels.model(named: $0)! }.filter { $0.info.arch != "classifier" }
                + [try ModelZoo.randomModel(Pictures.spec("fsrcnn-x2")), try ModelZoo.randomModel(Pictures.spec("plain-x4-c32n8"))]
        }
    }

    @Test("tiled output equals whole-frame output (fp32, 16-bit samples: within 1e-4)",
          arguments: [(77, 45, 32), (131, 67, 48), (64, 64, 64), (50, 23, 200)])
    func tiledEqualsWhole(_ w: Int, _ h: Int, _ tile: Int) throws {
        let frame = try Pictures.frame(width: w, height: h, format: AV_PIX_FMT_GRAY16LE)
        for model in try Self.models {
            // The model alone on every tile (a family head's branches resolve, but classes are off).
            let family = try ModelFamily(hard: model) { try EmbeddedModels.model(named: $0) }
            #expect(family.exactTiling && family.margin == model.info.receptiveField! / 2)
            let (out, _) = try Pictures.run(family, TileSettings(tile: tile, workers: 2, precision: .fp32, classes: false,
                                                                 reuseThreshold: nil), [frame])
            let (expected, ew) = try Self.wholeFrame(model, frame, margin: family.margin)
            let p = LumaPlane(frame: out[0], depth: 16)
            var worst: Float = 0
            for y in 0..<p.height {
                for x in 0..<p.width {
                    let got = Float(p.sample(x, y)) / 65535
                    let want = min(max(expected[y * ew + x], 0), 1)
                    worst = max(worst, abs(got - want))
                }
            }
            // One 16-bit step is 1.5e-5: the tolerance covers rounding plus kernel differences.
            #expect(worst <= 1e-4, "\(model.info.name) \(w)x\(h) tile \(tile): max difference \(worst)")
        }
    }

    @Test("output is bit-identical for 1, 2 and 3 workers, with routing and reuse")
    func deterministic() throws {
        let family = try Pictures.routedFamily()
        let frames = try (0..<4).map { try Pictures.frame(width: 97, height: 61, shift: $0 < 2 ? 0 : 5) }
        var reference: [[UInt8]]? = nil
        for workers in [1, 2, 3] {
            let (out, stats) = try Pictures.run(family, TileSettings(tile: 24, workers: workers, precision: .fp32), frames)
            #expect(out.count == frames.count)
            #expect(out.map(\.pts) == frames.map(\.pts), "frames leave in order")
            let bytes = out.map(Pictures.lumaBytes)
            if let reference { #expect(bytes == reference, "\(workers) workers") } else { reference = bytes }
            for c in TileClass.allCases { #expect(stats.classesTotal[c] > 0, "class \(c.name) used: \(stats.classesTotal.counts)") }
            #expect(stats.classesTotal.total == frames.count * stats.tileColumns * stats.tileRows)
        }
    }

    @Test("static tiles reuse the previous output and change nothing (exact threshold)")
    func reuse() throws {
        let family = try Pictures.routedFamily()
        let frames = try [0, 0, 3, 3, 3].map { try Pictures.frame(width: 97, height: 61, shift: $0) }
        let settings = TileSettings(tile: 24, workers: 2, precision: .fp32, reuseThreshold: 0)
        let (reused, stats) = try Pictures.run(family, settings, frames)
        var off = settings
        off.reuseThreshold = nil
        let (computed, offStats) = try Pictures.run(family, off, frames)
        #expect(reused.map(Pictures.lumaBytes) == computed.map(Pictures.lumaBytes))
        let tiles = stats.tileColumns * stats.tileRows
        // Frames 2, 4 and 5 repeat their predecessor: all their tiles are static; frame 3 moves
        // the square, so only the tiles whose windows it touches are recomputed.
        #expect(stats.classesTotal[.static] > 3 * tiles - tiles / 2, "\(stats.classesTotal.counts)")
        #expect(stats.classesTotal[.static] < 4 * tiles)
        #expect(offStats.classesTotal[.static] == 0)
        #expect(stats.multiplyAdds < offStats.multiplyAdds)
    }

    @Test("classes off runs one branch everywhere; the family falls back to stronger branches")
    func classesOff() throws {
        let family = try Pictures.routedFamily()
        let frame = try Pictures.frame(width: 80, height: 40)
        for branch in [TileClass.easy, .hard] {
            let (_, stats) = try Pictures.run(family, TileSettings(tile: 32, workers: 1, precision: .fp32, classes: false,
                                                                   branch: branch, reuseThreshold: nil), [frame])
            #expect(stats.classesTotal[branch] == stats.classesTotal.total)
        }
        let single = try ModelFamily(hard: try ModelZoo.randomModel(Pictures.spec("plain-x2-c16n4"))) { _ in nil }
        #expect(single.model(for: .easy).info.name == single.hard.info.name)
        #expect(single.thresholds == nil)
    }

    @Test("classifier routing: the option with the least predicted extra error + lambda x MACs, ties to the cheaper")
    func classifierChoice() throws {
        let c = ClassifierRouting(model: try ModelZoo.randomModel(Pictures.spec("plain-x2-c16n4")), lambda: 1,
                                  macsPerPixel: [.easy: 1, .medium: 2, .hard: 4])
        // 2x2 core, x2, no margin: 16 HR pixels, window 4 LR pixels. Costs flat 16 d0, easy
        // 16 d1 + 4, medium 16 d2 + 8, hard 16.
        #expect(c.choose((2, 0.5, 0.1), w: 2, h: 2, scale: 2, margin: 0) == .medium)   // 32, 12, 9.6, 16
        #expect(c.choose((0, 0, 0), w: 2, h: 2, scale: 2, margin: 0) == .flat)
        #expect(c.choose((5, 0.2, 0.1), w: 2, h: 2, scale: 2, margin: 0) == .easy)      // 80, 7.2, 9.6, 16
        #expect(c.choose((5, 5, 5), w: 2, h: 2, scale: 2, margin: 0) == .hard)
        #expect(c.choose((1, 0.75, 5), w: 2, h: 2, scale: 2, margin: 0) == .flat)       // 16 = 16: the cheaper
        // The margin makes networks dearer: window (2 + 2)^2 = 16.
        #expect(c.choose((2, 0.5, 0.1), w: 2, h: 2, scale: 2, margin: 1) == .easy)      // 32, 24, 33.6, 64
        #expect(c.choose((1, 0.5, 0.1), w: 2, h: 2, scale: 2, margin: 1) == .flat)      // 16, 24, 33.6, 64
    }

    @Test("a family routed by a learned classifier: each tile's class is the classifier's choice on its core, for any worker count")
    func classifierRouted() throws {
        let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("UpresEngineTests/Goldens")
        let classifier = try Model(contentsOf: goldens.appendingPathComponent("classifier.safetensors"))
        let easy = try ModelZoo.randomModel(Pictures.spec("plain-x2-c16n4"), seed: 3, name: "test-easy")
        let medium = try ModelZoo.randomModel(Pictures.spec("espcn-x2"), seed: 4, name: "test-medium")
        let routing = #"{"version": 1, "statistic": "classifier", "classifier": "test-classifier", "lambda": 1e-6, "macs_per_pixel": {"easy": 9000, "medium": 21000, "hard": 75000}, "branches": {"easy": "test-easy", "medium": "test-medium"}, "tile": 24, "margin": 10}"#
        let hard = try ModelZoo.randomModel(Pictures.spec("plain-x2-c32n8"), seed: 5, name: "test-hard", metadata: ["routing": routing])
        let family = try ModelFamily(hard: hard) { ["test-easy": easy, "test-medium": medium, "test-classifier": classifier][$0] }
        let route = try #require(family.classifier)
        #expect(route.lambda == 1e-6 && family.thresholds == nil)
        let frames = try (0..<3).map { try Pictures.frame(width: 97, height: 61, shift: 2 * $0) }
        // Expected classes of the last frame: the classifier run directly on every tile core.
        let grid = TileGrid(width: 97, height: 61, tile: 24, margin: family.margin)
        let session = try Session(model: classifier, input: Tensor.Shape(1, 1, grid.coreHeight, grid.coreWidth), precision: .fp32)
        let plane = LumaPlane(frame: frames[2], depth: 8)
        let expected = try grid.tiles.map { t -> TileClass in
            plane.readWindow(x0: t.x, y0: t.y, w: grid.coreWidth, h: grid.coreHeight, into: session.inputPointer)
            try session.execute()
            let d = session.outputPointer
            return route.choose((d[0], d[1], d[2]), w: grid.coreWidth, h: grid.coreHeight, scale: 2, margin: family.margin)
        }
        var reference: [[UInt8]]? = nil
        for workers in [1, 2, 3] {
            let (out, stats) = try Pictures.run(family, TileSettings(tile: 24, workers: workers, precision: .fp32,
                                                                     reuseThreshold: nil), frames)
            #expect(stats.lastFrameMap == expected, "\(workers) workers")
            let bytes = out.map(Pictures.lumaBytes)
            if let reference { #expect(bytes == reference, "\(workers) workers") } else { reference = bytes }
        }
    }

    @Test("a routing entry naming a missing branch is a clear error")
    func missingBranch() throws {
        let routing = #"{"version": 1, "statistic": "mean_abs_gradient", "thresholds": {"flat": 1, "easy": 2, "medium": 3}, "branches": {"easy": "nope"}}"#
        let hard = try ModelZoo.randomModel(Pictures.spec("plain-x2-c32n8"), metadata: ["routing": routing])
        #expect(throws: ModelFileError.self) { try ModelFamily(hard: hard) { _ in nil } }
        do { _ = try ModelFamily(hard: hard) { _ in nil } } catch { #expect("\(error)".contains("'nope'")) }
    }
}

@Suite("Tile pipeline with RGB networks")
struct RGBPipelineTests {
    @Test("tiled RGB output equals one whole-frame tile (4:2:0, within one 8-bit step)", arguments: [(64, 36, 16), (90, 50, 32)])
    func tiledEqualsWhole(_ w: Int, _ h: Int, _ tile: Int) throws {
        let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("UpresEngineTests/Goldens")
        let model = try Model(contentsOf: goldens.appendingPathComponent("plain-x4-rgb-relu.safetensors"))
        let family = try ModelFamily(hard: model) { _ in nil }
        let frame = try Pictures.frame(width: w, height: h)
        let settings = TileSettings(tile: tile, workers: 2, precision: .fp32, reuseThreshold: nil)
        var whole = settings
        whole.tile = 4096
        let (tiled, _) = try Pictures.run(family, settings, [frame])
        let (one, _) = try Pictures.run(family, whole, [frame])
        for plane in 0..<3 {
            let a = tiled[0], b = one[0]
            let rows = plane == 0 ? Int(a.height) : (Int(a.height) + 1) / 2
            let cols = plane == 0 ? Int(a.width) : (Int(a.width) + 1) / 2
            var worst = 0
            for y in 0..<rows {
                for x in 0..<cols {
                    worst = max(worst, abs(Int(a.data(plane: plane)![y * a.lineSize(plane: plane) + x])
                                       - Int(b.data(plane: plane)![y * b.lineSize(plane: plane) + x])))
                }
            }
            #expect(worst <= 1, "plane \(plane): max difference \(worst)")
        }
    }

    @Test("an RGB network with no flat tiles gets no Lanczos pass under it; a luma network one per frame")
    func noClassicalPassUnderRGB() throws {
        let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("UpresEngineTests/Goldens")
        let rgbFamily = try ModelFamily(hard: try Model(contentsOf: goldens.appendingPathComponent("plain-x4-rgb-relu.safetensors"))) { _ in nil }
        let frames = [try Pictures.frame(width: 64, height: 36), try Pictures.frame(width: 64, height: 36)]
        let settings = TileSettings(tile: 16, workers: 2, precision: .fp32, reuseThreshold: nil)
        var rgbPasses = -1
        let (out, _) = try Pictures.run(rgbFamily, settings, frames) { rgbPasses = $0 }
        #expect(rgbPasses == 0)
        #expect(out.count == 2)
        let luma = try Model(contentsOf: goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        #expect(luma.info.inChannels == 1)
        var lumaPasses = -1
        _ = try Pictures.run(try ModelFamily(hard: luma) { _ in nil }, settings, frames) { lumaPasses = $0 }
        #expect(lumaPasses == 2, "a luma network's chroma comes from Lanczos")
    }
}

@Suite("Classical scaling")
struct ClassicalScalingTests {
    @Test("Lanczos YUV -> YUV keeps levels: a flat region stays exact and the mean does not drift (it once rose ~0.7)")
    func levelsKept() throws {
        let src = try Pictures.frame(width: 96, height: 54)
        let input = Pictures.format(src)
        let output = input.resized(width: 192, height: 108)
        let out = try Frame(width: 192, height: 108, format: src.format)
        try FrameScaler(from: input, to: output, filter: .lanczos).scale(src, into: out)
        let a = LumaPlane(frame: src, depth: 8), b = LumaPlane(frame: out, depth: 8)
        // The left third of the picture is the constant 100 (away from its right edge and the square).
        for y in 8..<100 { for x in 8..<50 { #expect(b.sample(x, y) == 100, "(\(x), \(y)): \(b.sample(x, y))") } }
        var sa = 0.0, sb = 0.0
        for y in 0..<54 { for x in 0..<96 { sa += Double(a.sample(x, y)) } }
        for y in 0..<108 { for x in 0..<192 { sb += Double(b.sample(x, y)) } }
        let drift = sb / (192 * 108) - sa / (96 * 54)
        #expect(abs(drift) < 0.2, "mean level moved by \(drift)")
    }
}
