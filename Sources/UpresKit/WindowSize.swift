import Foundation
import UpresEngine

/// The tile side a pipeline runs: routed families keep their calibrated fine grid (128 px);
/// unrouted networks (imported models, `--classes off`) run in the largest windows whose
/// activations fit a memory budget per worker, the whole frame where it fits, since each
/// window pays its margins (SPAN's 43 px receptive field makes 128 px tiles cost 40% more).
/// `--tile` overrides both.
public enum WindowSize {
    /// Default activation budget of one worker's session.
    public static let defaultBudget = 768 << 20

    /// Whether tiles of this family are routed (one grid, the classifier's) in these settings.
    public static func routed(_ family: ModelFamily, _ settings: TileSettings) -> Bool {
        settings.classes && (family.classifier != nil || family.thresholds != nil)
    }

    /// The tile side for a `width` x `height` input.
    public static func tile(for family: ModelFamily, settings: TileSettings, width: Int, height: Int) -> Int {
        guard let budget = settings.windowBudget, !routed(family, settings) else { return settings.tile }
        let whole = max(width, height)
        func fits(_ t: Int) -> Bool {
            let w = min(t, width), h = min(t, height), m = family.margin
            let inside = family.edges == .inside
            return peakBytes(family, width: inside ? min(w + 2 * m, width) : w + 2 * m,
                             height: inside ? min(h + 2 * m, height) : h + 2 * m) <= budget
        }
        if fits(whole) { return whole }
        // The largest side (a multiple of 16, at least the default) whose window fits.
        var lo = settings.tile, hi = whole
        while hi - lo > 16 {
            let mid = (lo + hi) / 2 / 16 * 16
            if mid <= lo { break }
            if fits(mid) { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Peak bytes of the activations live at once when the family's largest branch runs on a
    /// `width` x `height` window in fp32 (each node's output lives from its node to its last
    /// reader; the engine reuses buffers by the same rule).
    public static func peakBytes(_ family: ModelFamily, width: Int, height: Int) -> Int {
        let model = family.hard
        let graph = model.fusedGraph
        guard let shapes = try? graph.shapes(input: Tensor.Shape(1, model.info.inChannels, height, width)) else {
            return Int.max
        }
        var lastUse = Array(graph.nodes.indices)
        for (i, node) in graph.nodes.enumerated() {
            for j in node.inputs where j >= 0 && j < i { lastUse[j] = max(lastUse[j], i) }
        }
        lastUse[graph.output] = graph.nodes.count
        var peak = 0
        for i in graph.nodes.indices {
            var live = 0
            for j in 0...i where lastUse[j] >= i {
                let s = shapes[j]
                live += s.n * s.c * s.h * s.w * MemoryLayout<Float>.size
            }
            peak = max(peak, live)
        }
        return peak
    }
}
