import ArgumentParser
import UpresKit

extension DeinterlaceMode: ExpressibleByArgument {}

/// How the source is read: interlaced video.
struct SourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Interlaced video: auto (deinterlace with bwdif when the stream is tagged interlaced or FFmpeg's idet finds its first frames combed), frame (always, one frame per frame), field (always, one frame per field: twice the frame rate), off.",
                               valueName: "mode"))
    var deinterlace: DeinterlaceMode = .auto

    func apply(to s: inout JobSettings) {
        s.deinterlace = deinterlace
    }
}
