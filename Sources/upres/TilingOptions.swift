import ArgumentParser
import Foundation
import UpresEngine
import UpresKit

/// How SR networks run over a frame: tile size, ClassSR routing, temporal reuse, queue depth.
struct TilingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Tile side in input pixels (a context margin of the model's receptive field is added); every tile then runs alone. Default: routed families cut a 128 px grid and run adjacent tiles of one branch as one window with shared margins; networks that run every tile alike (imported models, --classes off) take the largest windows; both within 768 MiB of activations per worker, the whole frame where it fits.",
                               valueName: "px"))
    var tile: Int?

    @Option(help: ArgumentHelp("Route tiles by difficulty (on: the family's tile classifier sends each tile to Lanczos or to its easy, medium or hard branch, whichever restores it well for the fewest multiply-adds) or run every tile through one branch (off).",
                               valueName: "on|off"))
    var classes: ClassesChoice = .on

    @Option(help: ArgumentHelp("The branch every tile runs with --classes off: easy, medium or hard.", valueName: "name"))
    var branch: BranchChoice = .hard

    @Option(help: ArgumentHelp("Price of a multiply-add against predicted error in the tile classifier's routing, relative to the family's calibration: 2 sends more tiles to cheaper branches (faster), 0.5 to stronger ones.",
                               valueName: "x"))
    var macCost: Double = 1

    @Option(help: ArgumentHelp("Reuse a tile's previous output when its input (with context) differs by at most this many 8-bit levels; 0 = only when identical.",
                               valueName: "n"))
    var reuseThreshold: Int = 0

    @Flag(help: "Never reuse tiles between frames (every tile is computed).")
    var noReuse = false

    @Option(help: ArgumentHelp("Frames in flight between decoder and encoder (memory grows with it, not with the video). Default: 2 x threads + 2.",
                               valueName: "n"))
    var framesInFlight: Int?

    func validate() throws {
        if let tile, tile < 16 || tile > 4096 { throw ValidationError("--tile must be between 16 and 4096 pixels") }
        if reuseThreshold < 0 || reuseThreshold > 255 { throw ValidationError("--reuse-threshold must be between 0 and 255") }
        if let f = framesInFlight, f < 1 || f > 256 { throw ValidationError("--frames-in-flight must be between 1 and 256") }
        if !(macCost > 0 && macCost <= 1000) { throw ValidationError("--mac-cost must be above 0 and at most 1000") }
    }

    func settings(workers: Int, precision: Precision) -> TileSettings {
        var s = TileSettings(tile: tile ?? TileSettings.defaultTile, workers: workers, precision: precision, classes: classes == .on,
                             branch: TileClass(name: branch.rawValue)!, reuseThreshold: noReuse ? nil : reuseThreshold,
                             framesInFlight: framesInFlight)
        s.macCost = macCost
        if tile == nil { s.windowBudget = WindowSize.defaultBudget }
        return s
    }
}

enum ClassesChoice: String, ExpressibleByArgument, CaseIterable { case on, off }
enum BranchChoice: String, ExpressibleByArgument, CaseIterable { case easy, medium, hard }
