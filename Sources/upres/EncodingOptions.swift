import ArgumentParser
import Foundation
import UpresKit
import UpresMedia
import UpresEngine

struct EncodingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Video encoder: libx264, libx265, libvpx-vp9, libaom-av1, libsvtav1, ffv1 (lossless), png, mjpeg. Default: the container's usual one (libx264; libvpx-vp9 for .webm, png for images), or one that keeps the source's alpha (.mkv: ffv1 or libvpx-vp9, .mov: png) or its 12 or 16 bits (libx265, ffv1).",
                               valueName: "name"))
    var codec: String?

    @Option(help: ArgumentHelp("Constant-quality level for the encoder (x264/x265 0-51, VP9/AV1 0-63).", valueName: "n"))
    var crf: Int?

    @Option(help: ArgumentHelp("Encoder preset (x264/x265: ultrafast ... veryslow; SVT-AV1: 0-13).", valueName: "name"))
    var preset: String?

    @Option(name: .customLong("pix-fmt"), help: ArgumentHelp(
        "Output pixel format (default: the source's, so 10-bit stays 10-bit). A deeper one than the source's is worked in at its depth: the network's output is rounded once, to it.", valueName: "fmt"))
    var pixFmt: String?

    @Option(name: .customLong("encoder-opt"), parsing: .singleValue, help: ArgumentHelp(
        "Encoder option passed through, e.g. --encoder-opt tune=film (repeatable).", valueName: "key=value"))
    var encoderOpts: [String] = []

    func settings(threads: Int32) throws -> EncoderSettings {
        var options: [(key: String, value: String)] = []
        for o in encoderOpts {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw ValidationError("--encoder-opt takes key=value, not '\(o)'")
            }
            options.append((String(o[..<eq]), String(o[o.index(after: eq)...])))
        }
        if let crf, crf < 0 || crf > 63 { throw ValidationError("--crf must be between 0 and 63, not \(crf)") }
        return EncoderSettings(codec: codec, crf: crf, preset: preset, pixelFormat: pixFmt, options: options,
                               threads: threads)
    }
}
