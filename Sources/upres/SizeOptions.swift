import ArgumentParser
import Foundation
import UpresKit
import UpresMedia
import UpresEngine

struct SizeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Scale factor: 2, 3 or 4 (default 2).", valueName: "n"))
    var scale: Int?

    @Option(help: ArgumentHelp("Output width in pixels (height follows the aspect ratio unless given).", valueName: "px"))
    var width: Int?

    @Option(help: ArgumentHelp("Output height in pixels (width follows the aspect ratio unless given).", valueName: "px"))
    var height: Int?

    func target() throws -> TargetSize {
        if let s = scale {
            if width != nil || height != nil { throw ValidationError("use either --scale or --width/--height, not both") }
            guard [2, 3, 4].contains(s) else { throw ValidationError("--scale must be 2, 3 or 4, not \(s)") }
            return .scale(s)
        }
        for (name, v) in [("--width", width), ("--height", height)] {
            if let v, v < 16 || v > 16384 { throw ValidationError("\(name) must be between 16 and 16384, not \(v)") }
        }
        if width == nil && height == nil { return .scale(2) }
        return .box(width: width, height: height)
    }
}
