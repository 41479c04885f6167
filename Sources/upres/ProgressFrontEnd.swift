import Foundation
import UpresKit
import UpresMedia
import UpresTerminal

/// One way of showing a batch's progress (dashboard, plain lines, JSON events, nothing).
/// The batch loop calls these in order on the main thread, except `progress`, which the job
/// calls on its own thread after every frame.
protocol ProgressFrontEnd: AnyObject, Sendable {
    /// Before input `index` (1-based) of `count` is opened.
    func jobStarting(input: String, index: Int, count: Int)
    /// The output is open; `stats` is the job's first snapshot.
    func jobStarted(_ job: UpscaleJob, _ stats: PipelineStats)
    func progress(_ stats: PipelineStats)
    func jobFinished(_ result: JobResult)
    /// The input could not be processed (the error names the file).
    func jobFailed(input: String, error: Error)
    /// Stopped at once on request: nothing was written.
    func jobAbandoned(input: String)
    /// After the loop, before the process exits with `summary.exitStatus`.
    func batchFinished(_ summary: BatchSummary)
    /// Where jobs leave thumbnails of their output (the dashboard's picture pane).
    var preview: FramePreview? { get }
}

extension ProgressFrontEnd {
    var preview: FramePreview? { nil }
}

/// What a batch did, for the final summary line or event. done + failed + interrupted +
/// skipped = files.
struct BatchSummary: Sendable {
    var files: Int
    var done = 0
    var failed = 0
    /// Stopped on request: a partial output, or nothing when stopped at once.
    var interrupted = 0
    /// Outputs that already existed (not redone without --overwrite).
    var skippedExisting = 0
    var frames = 0
    var bytes: Int64 = 0
    var classes = ClassCounts()
    let started = Date()

    init(files: Int) { self.files = files }

    var skipped: Int { max(0, files - done - failed - interrupted) }
    var wallTime: Double { Date().timeIntervalSince(started) }
    var exitStatus: Int32 {
        interrupted > 0 || Interrupts.requested ? ExitStatus.interrupted : failed > 0 ? ExitStatus.failed : ExitStatus.success
    }

    mutating func add(_ r: JobResult) {
        if r.interrupted { interrupted += 1 } else { done += 1 }
        frames += r.framesEncoded
        bytes += JobFacts.size(of: r.output) ?? 0
        classes = classes + r.stats.classesTotal
    }
}

/// Facts about jobs that several front ends print.
enum JobFacts {
    static func size(of path: String) -> Int64? {
        if StandardStream.isPipe(path) { return nil }   // stdout
        return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
    }

    /// "clip.mp4 -> clip.upres-x2.mp4: 320x180 -> 640x360, upres-x2, libx264".
    static func startLine(_ job: UpscaleJob) -> String {
        let s = job.sourceFormat, e = job.encodeFormat
        return "\(job.settings.input) -> \(job.outputPath): \(s.width)x\(s.height) -> \(e.width)x\(e.height), "
            + "\(job.settings.upscaler.name), \(job.encoding.encoderName)"
    }

    /// "done: out.mp4: 48 frames, 320x180 -> 640x360 libx264 yuv420p, 2 streams copied, 1.2 s (40.0 fps), 301 KiB".
    static func doneLine(_ r: JobResult) -> String {
        let fps = r.elapsed > 0 ? Double(r.framesEncoded) / r.elapsed : 0
        return "done: \(r.output): \(r.framesEncoded) frames, "
            + "\(r.inputSize.width)x\(r.inputSize.height) -> \(r.outputSize.width)x\(r.outputSize.height) "
            + "\(r.encoder) \(r.pixelFormat), \(r.copiedStreams) streams copied, \(String(format: "%.1f", r.elapsed)) s "
            + "(\(String(format: "%.1f", fps)) fps)" + (size(of: r.output).map { ", \(Format.bytes($0))" } ?? "")
    }

    /// After a graceful stop: where the frames done so far went.
    static func stoppedLine(_ r: JobResult) -> String {
        "stopped: \(r.stats.input): \(r.framesEncoded) frames kept in \(r.output) (playable)"
    }

    /// "3 files: 2 done, 1 failed, 0 interrupted, 0 skipped; 96 frames, 1.2 MiB in 4.1 s".
    static func summaryLine(_ s: BatchSummary) -> String {
        "\(s.files) files: \(s.done) done, \(s.failed) failed, \(s.interrupted) interrupted, \(s.skipped) skipped; "
            + "\(s.frames) frames, \(Format.bytes(s.bytes)) in \(String(format: "%.1f", s.wallTime)) s"
    }
}

/// Prints a job's warnings once each, as they appear (at start, then at the end).
final class WarningPrinter: @unchecked Sendable {
    // Main thread only (jobStarted / jobFinished).
    private var shown = 0
    private var input = ""

    func started(_ job: UpscaleJob) {
        input = job.settings.input
        shown = 0
        print(job.warnings)
    }

    func finished(_ r: JobResult) { print(r.warnings) }

    private func print(_ warnings: [String]) {
        for w in warnings.dropFirst(shown) { Diagnostics.warning("\(input): \(w)") }
        shown = max(shown, warnings.count)
    }
}
