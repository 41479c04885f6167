import ArgumentParser
import UpresKit
import UpresMedia

extension DeinterlaceMode: ExpressibleByArgument {}

/// Which part of the source is upscaled, and how interlaced video is treated.
struct SourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start this far into the input: seconds (12.5) or [HH:]MM:SS[.frac]. The output starts at 0; audio, subtitles and chapters are cut to match.",
                               valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("Upscale this much of the input (time syntax as for --start, e.g. 20 or 1:30).", valueName: "time"))
    var duration: String?

    @Option(help: ArgumentHelp("Stop at this position of the input, exclusive (time syntax as for --start, e.g. 1:30); --to or --duration, not both.",
                               valueName: "time"))
    var to: String?

    @Option(help: ArgumentHelp("Interlaced video: auto (deinterlace with bwdif when the stream is tagged interlaced or FFmpeg's idet finds its first frames combed), frame (always, one frame per frame), field (always, one frame per field: twice the frame rate), off.",
                               valueName: "mode"))
    var deinterlace: DeinterlaceMode = .auto

    func validate() throws { _ = try range() }

    /// nil when no option of the range was given.
    func range() throws -> SourceRange? {
        guard start != nil || duration != nil || to != nil else { return nil }
        do { return try SourceRange(start: start, duration: duration, to: to) } catch let e as RangeError {
            throw ValidationError(e.description)
        }
    }

    func apply(to s: inout JobSettings) {
        s.deinterlace = deinterlace
        s.range = try? range()
    }
}
