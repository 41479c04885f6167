import ArgumentParser
import UpresKit

/// Segments and resume: how an interrupted job continues where it stopped.
struct ResumeOptions: ParsableArguments {
    @Flag(help: "Start over, discarding what an interrupted run of this output left (its work folder).")
    var restart = false

    @Flag(help: "Write the output in one pass, without segments: an interrupted run cannot resume (pipes, - in or out, and .y4m always run so).")
    var noResume = false

    @Option(help: ArgumentHelp("Seconds of source per segment, the unit of resume (segments start at keyframes; with --segment K, the parts of segment K).",
                               valueName: "s"))
    var segmentSeconds: Double = 10

    @Option(help: ArgumentHelp("Split the job into N segments (the same keyframe-aligned split on every machine): with --segment K, process only segment K into OUTPUT.segment-K-of-N (resumable: a rerun continues from its last finished part); with --dry-run, show the split and each segment's estimated time; `upres join` assembles them.",
                               valueName: "N"))
    var segments: Int?

    @Option(help: ArgumentHelp("The segment (1 to N) this process does, with --segments N.", valueName: "K"))
    var segment: Int?

    func validate() throws {
        if let n = segments, n < 1 || n > 100_000 { throw ValidationError("--segments must be between 1 and 100000") }
        if let k = segment {
            guard let n = segments else { throw ValidationError("--segment K needs --segments N") }
            if k < 1 || k > n { throw ValidationError("--segment must be between 1 and --segments (\(n))") }
        }
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
