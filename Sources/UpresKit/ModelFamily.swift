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
    public let thresholds: ClassThresholds?
    /// The tile side the family was calibrated for, if any.
    public let calibratedTile: Int?
    /// Context margin (LR pixels) around each tile: the largest branch's receptive-field
    /// radius, so tiled output equals whole-frame output; `globalMargin` for nets that pool
    /// over the whole input (BSRN's ESA/CCA), where tiling changes the output slightly.
    public let margin: Int
    /// True when `margin` covers every branch's receptive field (tiling is exact).
    public let exactTiling: Bool

    public static let globalMargin = 16

    public init(hard: Model, resolve: (String) throws -> Model?) throws {
        name = hard.info.name
        scale = hard.info.scale
        var b: [TileClass: Model] = [.hard: hard]
        var t: ClassThresholds? = nil
        var tile: Int? = nil
        if let text = hard.info.metadata["routing"] {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw ModelFileError("\(hard.info.name): metadata 'routing' is not a JSON object")
            }
            guard (obj["statistic"] as? String) == "mean_abs_gradient",
                  let th = obj["thresholds"] as? [String: Any],
                  let f = (th["flat"] as? NSNumber)?.doubleValue, let e = (th["easy"] as? NSNumber)?.doubleValue,
                  let m = (th["medium"] as? NSNumber)?.doubleValue, f <= e, e <= m else {
                throw ModelFileError("\(hard.info.name): metadata 'routing' needs statistic 'mean_abs_gradient' and "
                                     + "thresholds flat <= easy <= medium")
            }
            t = ClassThresholds(flat: f, easy: e, medium: m)
            tile = (obj["tile"] as? NSNumber)?.intValue
            for (key, cls) in [("easy", TileClass.easy), ("medium", TileClass.medium)] {
                guard let branchName = (obj["branches"] as? [String: Any])?[key] as? String else { continue }
                guard let m = try resolve(branchName) else {
                    throw ModelFileError("\(hard.info.name): routing branch '\(branchName)' (\(key)) not found")
                }
                guard m.info.scale == hard.info.scale, m.info.inChannels == hard.info.inChannels else {
                    throw ModelFileError("\(hard.info.name): routing branch '\(branchName)' is x\(m.info.scale) with "
                                         + "\(m.info.inChannels) channels, the family is x\(hard.info.scale)")
                }
                b[cls] = m
            }
        }
        branches = b
        thresholds = t
        calibratedTile = tile
        let fields = b.values.map(\.info.receptiveField)
        exactTiling = !fields.contains(where: { $0 == nil })
        margin = exactTiling ? fields.compactMap { $0.map { $0 / 2 } }.max() ?? 0 : ModelFamily.globalMargin   // ceil((rf - 1) / 2)
    }

    public var hard: Model { branches[.hard]! }

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
