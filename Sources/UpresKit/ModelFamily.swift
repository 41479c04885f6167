import Foundation
import UpresEngine

/// Thresholds on a tile's mean absolute gradient (8-bit units) that pick its class, ClassSR
/// style: below `flat` the classical result is kept, below `easy` / `medium` the cheaper
/// branches run, the rest goes to the hard branch. Calibrated on training photos by
/// `training/calibrate.py` and stored in the hard model's `routing` metadata (docs/routing.md).
public struct ClassThresholds: Sendable, Equatable {
    public var flat: Double
    public var easy: Double
    public var medium: Double
    public init(flat: Double, easy: Double, medium: Double) {
        self.flat = flat
        self.easy = easy
        self.medium = medium
    }

    public func classify(gradient g: Double) -> TileClass {
        if g < flat { return .flat }
        if g < easy { return .easy }
        if g < medium { return .medium }
        return .hard
    }
}

/// Routing by a learned tile classifier (`training/train_classifier.py`, ClassSR style with
/// the branches frozen): the classifier reads a tile's LR core and predicts, for flat / easy /
/// medium, the extra squared error per HR pixel (8-bit units) over the hard branch; the tile
/// takes the option with the least  predicted extra SSE + lambda x MACs  (hard: no extra
/// error). `lambda`, the exchange rate between error and multiply-adds, is calibrated on the
/// training photos for a MAC budget.
public struct ClassifierRouting: Sendable {
    public let model: Model
    public let lambda: Double
    /// MACs per LR pixel of each branch as calibrated (the costs the decision uses).
    public let macsPerPixel: [TileClass: Double]

    /// The class for predicted extra errors `d` (flat, easy, medium) of a `w` x `h` tile core
    /// with `margin`; ties go to the cheaper option.
    public func choose(_ d: (Float, Float, Float), w: Int, h: Int, scale: Int, margin: Int,
                       lambdaScale: Double = 1) -> TileClass {
        let pixels = Double(w * h * scale * scale), window = Double((w + 2 * margin) * (h + 2 * margin))
        let lambda = self.lambda * lambdaScale
        let costs: [(TileClass, Double)] = [
            (.flat, Double(d.0) * pixels),
            (.easy, Double(d.1) * pixels + lambda * macsPerPixel[.easy]! * window),
            (.medium, Double(d.2) * pixels + lambda * macsPerPixel[.medium]! * window),
            (.hard, lambda * macsPerPixel[.hard]! * window),
        ]
        var best = costs[0]
        for c in costs.dropFirst() where c.1 < best.1 { best = c }
        return best.0
    }
}

/// A luma model family: up to three SR branches of increasing capacity and the thresholds
/// that route tiles to them. A model file without `routing` metadata is a family of one
/// (every changed tile runs it).
///
///     let family = try ModelFamily(hard: model) { name in try EmbeddedModels.model(named: name) }
///     family.model(for: .easy)   // the easy branch, or the next stronger one present
public struct ModelFamily: Sendable {
    public let name: String
    public let scale: Int
    /// Present branches among .easy, .medium, .hard (.hard always).
    public let branches: [TileClass: Model]
    /// Routing by the mean-gradient statistic, or by a learned classifier (`classifier`).
    public let thresholds: ClassThresholds?
    public let classifier: ClassifierRouting?
    /// The tile side the family was calibrated for, if any.
    public let calibratedTile: Int?
    /// Context margin (LR pixels) around each tile: the largest branch's receptive-field
    /// radius, so tiled output equals whole-frame output; `globalMargin` for nets that pool
    /// over the whole input (BSRN's ESA/CCA), where tiling changes the output slightly.
    public let margin: Int
    /// True when `margin` covers every branch's receptive field (tiling is exact).
    public let exactTiling: Bool
    /// What windows read beyond the frame: imported networks keep to the frame, so their own
    /// padding meets its borders as in the reference implementation (ncnn runs the whole
    /// picture); built-in networks read a mirrored margin, as they were calibrated.
    public var edges: TileGrid.Edges { hard.info.arch == "ncnn" ? .inside : .mirrored }

    public static let globalMargin = 16

    public init(hard: Model, resolve: (String) throws -> Model?) throws {
        name = hard.info.name
        scale = hard.info.scale
        var b: [TileClass: Model] = [.hard: hard]
        var t: ClassThresholds? = nil
        var learned: ClassifierRouting? = nil
        var tile: Int? = nil
        if let text = hard.info.metadata["routing"] {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw ModelFileError("\(hard.info.displayName): metadata 'routing' is not a JSON object")
            }
            guard (obj["version"] as? NSNumber)?.intValue == 1 else {
                throw ModelFileError("\(hard.info.displayName): routing version \(obj["version"] ?? "none") is not supported (1 is)")
            }
            switch obj["statistic"] as? String {
            case "mean_abs_gradient":
                guard let th = obj["thresholds"] as? [String: Any],
                      let f = (th["flat"] as? NSNumber)?.doubleValue, let e = (th["easy"] as? NSNumber)?.doubleValue,
                      let m = (th["medium"] as? NSNumber)?.doubleValue, f <= e, e <= m, f.isFinite, m.isFinite else {
                    throw ModelFileError("\(hard.info.displayName): routing by 'mean_abs_gradient' needs thresholds flat <= easy <= medium")
                }
                t = ClassThresholds(flat: f, easy: e, medium: m)
            case "classifier":
                guard let name = obj["classifier"] as? String, let lambda = (obj["lambda"] as? NSNumber)?.doubleValue,
                      lambda > 0, let mpp = obj["macs_per_pixel"] as? [String: Any],
                      let me = (mpp["easy"] as? NSNumber)?.doubleValue, let mm = (mpp["medium"] as? NSNumber)?.doubleValue,
                      let mh = (mpp["hard"] as? NSNumber)?.doubleValue,
                      [lambda, me, mm, mh].allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                    throw ModelFileError("\(hard.info.displayName): routing by 'classifier' needs classifier, lambda > 0 and "
                                         + "macs_per_pixel {easy, medium, hard}")
                }
                guard let c = try resolve(name) else {
                    throw ModelFileError("\(hard.info.displayName): routing classifier '\(name)' not found")
                }
                // choose() reads three predictions (flat, easy, medium).
                guard c.info.arch == "classifier", c.info.inChannels == 1, c.info.outChannels == 3 else {
                    throw ModelFileError("\(hard.info.displayName): routing classifier '\(name)' is a \(c.info.arch) model "
                                         + "with \(c.info.inChannels) in and \(c.info.outChannels) out channels, "
                                         + "not a 1-channel tile classifier with 3 outputs")
                }
                learned = ClassifierRouting(model: c, lambda: lambda, macsPerPixel: [.easy: me, .medium: mm, .hard: mh])
            case let other:
                throw ModelFileError("\(hard.info.displayName): routing statistic '\(other ?? "none")' is not supported "
                                     + "(mean_abs_gradient, classifier)")
            }
            tile = (obj["tile"] as? NSNumber)?.intValue
            for (key, cls) in [("easy", TileClass.easy), ("medium", TileClass.medium)] {
                guard let branchName = (obj["branches"] as? [String: Any])?[key] as? String else { continue }
                guard let m = try resolve(branchName) else {
                    throw ModelFileError("\(hard.info.displayName): routing branch '\(branchName)' (\(key)) not found")
                }
                guard m.info.scale == hard.info.scale, m.info.inChannels == hard.info.inChannels else {
                    throw ModelFileError("\(hard.info.displayName): routing branch '\(branchName)' is x\(m.info.scale) with "
                                         + "\(m.info.inChannels) channels, the family is x\(hard.info.scale)")
                }
                b[cls] = m
            }
        }
        branches = b
        thresholds = t
        classifier = learned
        calibratedTile = tile
        let fields = b.values.map(\.info.receptiveField)
        exactTiling = !fields.contains(where: { $0 == nil })
        margin = exactTiling ? fields.compactMap { $0.map { $0 / 2 } }.max() ?? 0 : ModelFamily.globalMargin   // ceil((rf - 1) / 2)
    }

    public var hard: Model { branches[.hard]! }

    /// The upscaling networks of the family (each branch model once; not the classifier).
    public var networks: [Model] {
        var seen = Set<String>()
        return [TileClass.hard, .medium, .easy].compactMap { branches[$0] }.filter { seen.insert($0.info.name).inserted }
    }

    /// What decides the classes, for resume keys: the classifier (name, size) and lambda, or
    /// the thresholds.
    public var routingIdentity: String {
        if let c = classifier {
            return "classifier=\(c.model.info.name):\(c.model.info.parameters):\(c.lambda)"
        }
        if let t = thresholds { return "thresholds=\(t.flat),\(t.easy),\(t.medium)" }
        return "single"
    }

    /// The model for a network class: the branch itself, or the next stronger one present.
    public func model(for c: TileClass) -> Model {
        var k = c
        while k < .hard {
            if let m = branches[k] { return m }
            k = TileClass(rawValue: k.rawValue + 1)!
        }
        return hard
    }
}
