import Foundation
import UpresEngine
import UpresKit

/// Which convolutions an int8 session should run in bf16 instead: the ones whose int8 codes
/// cost the most PSNR. Each convolution is tried alone in bf16 (all others int8) on the
/// calibration pictures; then the most helpful are put in bf16 one by one, best first, until
/// int8 is within half the tolerance of fp32 there, or until bf16 would run more than half of
/// the multiply-adds (int8 would then gain little: the search gives up and says so).
struct Int8FloatSearch {
    let model: Model
    let pairs: [PicturePair]
    let threads: Int

    struct Result {
        var floatNodes: Set<String>
        var fp32: Double
        var int8: Double
        /// The calibration-picture PSNR with `floatNodes` in bf16.
        var mixed: Double
        /// Share of the multiply-adds `floatNodes` hold.
        var floatShare: Double
        var withinTolerance: Bool
    }

    func mean(_ precision: Precision, _ calibration: Int8Calibration?) throws -> Double {
        var sum = 0.0
        for pair in pairs {
            let out = try Session(model: model, input: pair.low.shape, precision: precision, threads: threads,
                                  calibration: calibration).run(pair.low)
            sum += pair.psnr(out, border: model.info.scale)
        }
        return sum / Double(pairs.count)
    }

    func run(_ base: Int8Calibration, log: (String) -> Void) throws -> Result {
        let fp32 = try mean(.fp32, nil)
        let int8 = try mean(.int8, base)
        let target = fp32 - Int8Calibration.tolerance / 2
        var result = Result(floatNodes: [], fp32: fp32, int8: int8, mixed: int8, floatShare: 0, withinTolerance: int8 >= target)
        guard !result.withinTolerance, Precision.bf16.isSupported else { return result }
        let graph = model.fusedGraph
        let shapes = try graph.shapes(input: pairs[0].low.shape)
        var macs: [String: Double] = [:]
        for (i, node) in graph.nodes.enumerated() {
            if case .conv(let c) = node.op {
                let s = shapes[i]
                macs[node.name] = Double(s.c * s.h * s.w * (c.inChannels / c.groups) * c.kernel * c.kernel)
            }
        }
        let total = macs.values.reduce(0, +)
        var gains: [(name: String, gain: Double)] = []
        for (k, name) in graph.nodes.map(\.name).filter({ macs[$0] != nil }).enumerated() {
            var c = base
            c.floatNodes = [name]
            let g = try mean(.int8, c) - int8
            gains.append((name, g))
            log("bf16 alone \(k + 1)/\(macs.count) \(name): " + String(format: "%+.3f dB", g))
        }
        var chosen: Set<String> = []
        for (name, gain) in gains.sorted(by: { $0.gain > $1.gain }) where gain > 0 {
            let share = (chosen.map { macs[$0]! }.reduce(0, +) + macs[name]!) / total
            if share > 0.5 { break }
            chosen.insert(name)
            var c = base
            c.floatNodes = chosen
            result.mixed = try mean(.int8, c)
            result.floatNodes = chosen
            result.floatShare = share
            log("bf16 \(chosen.count) layers (\(String(format: "%.0f", share * 100))% of the multiply-adds): "
                + String(format: "%.3f dB, fp32 %.3f", result.mixed, fp32))
            if result.mixed >= target { result.withinTolerance = true; break }
        }
        return result
    }
}
