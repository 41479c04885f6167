import ArgumentParser
import Foundation
import UpresKit
import UpresMedia
import UpresEngine

/// `upres join INPUT -o OUTPUT --segments N [the same options]`: assembles the segment files
/// that `--segments N --segment K` runs wrote (on any machines) into the output.
struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the segments of a split job (--segments N --segment K) into the output.",
        discussion: """
            Give the same input, output and options as the segment runs, and --segments N. The segment \
            files (OUTPUT.segment-K-of-N) are stream-copied in order together with the source's audio, \
            subtitles, chapters and metadata; segments the split left empty need no file.
            """)

    @OptionGroup var job: Upscale

    func run() throws { try job.run(joining: true) }
}
