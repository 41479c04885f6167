import ArgumentParser
import UpresKit

/// Segments and resume: how an interrupted job continues where it stopped.
struct ResumeOptions: ParsableArguments {
    @Flag(help: "Start over, discarding what an interrupted run of this output left (its work folder).")
    var restart = false

    @Flag(help: "Write the output in one pass, without segments: an interrupted run cannot resume.")
    var noResume = false

    @Option(help: ArgumentHelp("Seconds of source per segment, the unit of resume (segments start at keyframes). (default: 10)",
                               valueName: "s"))
    var segmentSeconds: Double = 10

    func validate() throws {
        if !(segmentSeconds >= 0.1 && segmentSeconds <= 86400) {
            throw ValidationError("--segment-seconds must be between 0.1 and 86400")
        }
        if restart && noResume { throw ValidationError("--restart and --no-resume exclude each other") }
    }

    func apply(to s: inout JobSettings) {
        s.segmented = !noResume
        s.restart = restart
        s.segmentSeconds = segmentSeconds
    }
}
