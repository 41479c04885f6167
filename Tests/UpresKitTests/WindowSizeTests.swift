import CFFmpeg
import Testing
import UpresEngine
@testable import UpresKit

/// Window sizes: routed families keep their fine grid; unrouted networks take the largest
/// window within the activation budget (the whole frame where it fits).
@Suite("Window size by model")
struct WindowSizeTests {
    static func unrouted() throws -> ModelFamily {
        try ModelFamily(hard: try ModelZoo.randomModel(Pictures.spec("plain-x2-c16n4"))) { _ in nil }
    }

    @Test("an unrouted network runs the whole frame when it fits, a routed family its 128 px grid")
    func wholeFrame() throws {
        var s = TileSettings(tile: 128, workers: 2, precision: .fp32)
        s.windowBudget = WindowSize.defaultBudget
        #expect(WindowSize.tile(for: try Self.unrouted(), settings: s, width: 640, height: 360) == 640)
        let routed = try ModelFamily(hard: try EmbeddedModels.model(named: "upres-x2")!) { try EmbeddedModels.model(named: $0) }
        #expect(WindowSize.routed(routed, s))
        #expect(WindowSize.tile(for: routed, settings: s, width: 640, height: 360) == 128)
        // --classes off: every tile alike, so the large windows.
        s.classes = false
        #expect(WindowSize.tile(for: routed, settings: s, width: 640, height: 360) == 640)
        // --tile given: no budget, the tile as asked.
        s.windowBudget = nil
        #expect(WindowSize.tile(for: try Self.unrouted(), settings: s, width: 640, height: 360) == 128)
    }

    @Test("the largest window within the budget, never below the tile")
    func budget() throws {
        let family = try Self.unrouted()
        var s = TileSettings(tile: 128, workers: 1, precision: .fp32)
        let peak = WindowSize.peakBytes(family, width: 400 + 2 * family.margin, height: 400 + 2 * family.margin)
        #expect(peak > 0)
        s.windowBudget = peak
        let side = WindowSize.tile(for: family, settings: s, width: 1920, height: 1080)
        #expect(side >= 384 && side <= 400, "\(side)")
        #expect(WindowSize.peakBytes(family, width: side + 2 * family.margin, height: side + 2 * family.margin) <= peak)
        s.windowBudget = 1
        #expect(WindowSize.tile(for: family, settings: s, width: 1920, height: 1080) == 128)
    }

    @Test("peak activation bytes grow with the window and count the widest layers live together")
    func peak() throws {
        let family = try Self.unrouted()
        let small = WindowSize.peakBytes(family, width: 100, height: 100)
        let large = WindowSize.peakBytes(family, width: 200, height: 200)
        #expect(large == 4 * small)
        // At least two 16-channel fp32 activations of the window (one conv's input and output).
        #expect(small >= 2 * 16 * 100 * 100 * 4)
    }
}
