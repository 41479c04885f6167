import Foundation
import UpresEngine

/// How the tile pipeline runs.
public struct TileSettings: Sendable, Equatable {
    /// LR core side of a tile (the margin comes on top).
    public var tile: Int
    /// SR workers, each with its own engine sessions and one oneDNN thread.
    public var workers: Int
    public var precision: Precision
    /// false: every changed tile runs `branch` (`--classes off`).
    public var classes: Bool
    public var branch: TileClass
    /// Temporal reuse: a tile whose input window differs from the one its cached output was
    /// computed from by at most this many 8-bit code values is reused; nil = never reuse.
    public var reuseThreshold: Int?
    /// Frames decoded but not yet taken by the encoder (the reorder buffer's capacity); bounds
    /// memory independently of video length.
    public var framesInFlight: Int
    /// Multiplies a classifier-routed family's lambda (the price of a multiply-add against
    /// predicted error): above 1 favours cheaper branches, below 1 stronger ones.
    public var macCost: Double = 1

    /// Unrouted networks run in the largest windows whose activations fit this many bytes per
    /// worker (`WindowSize`); nil = always `tile` (`--tile` given).
    public var windowBudget: Int? = nil

    /// Chosen by measurement (`upres bench`-style runs of the plain family on this CPU): 128 keeps
    /// a 3x3 conv's activations in L2 and the mirrored margin overhead at (148/128)^2 = 1.34x.
    public static let defaultTile = 128

    public init(tile: Int = TileSettings.defaultTile, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                precision: Precision = .fp32, classes: Bool = true, branch: TileClass = .hard,
                reuseThreshold: Int? = 0, framesInFlight: Int? = nil) {
        precondition(tile >= 8 && workers >= 1, "tile \(tile) workers \(workers)")
        precondition([.easy, .medium, .hard].contains(branch), "branch must be a network class")
        self.tile = tile
        self.workers = workers
        self.precision = precision
        self.classes = classes
        self.branch = branch
        self.reuseThreshold = reuseThreshold
        self.framesInFlight = framesInFlight ?? (2 * workers + 2)
    }
}
