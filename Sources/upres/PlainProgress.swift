import Foundation
import Synchronization
import UpresKit
import UpresTerminal

/// `--progress plain` (the default into pipes and logs): a start line, a progress line
/// every `interval` seconds and a summary line per file on stderr, and a batch summary when
/// there was more than one input. With `verbose: false` (`--progress none`, `-q`) only
/// warnings and errors.
final class PlainProgress: ProgressFrontEnd {
    private let verbose: Bool
    private let interval: Double
    private let lastLine = Mutex<Date>(.distantPast)
    private let warnings = WarningPrinter()

    init(verbose: Bool, interval: Double) {
        self.verbose = verbose
        self.interval = interval
    }

    func jobStarting(input: String, index: Int, count: Int) {}

    func jobStarted(_ job: UpscaleJob, _ stats: PipelineStats) {
        warnings.started(job)
        lastLine.withLock { $0 = Date() }
        if verbose { Diagnostics.write("upres: " + JobFacts.startLine(job)) }
    }

    func progress(_ stats: PipelineStats) {
        guard verbose else { return }
        let now = Date()
        let due = lastLine.withLock { last -> Bool in
            guard now.timeIntervalSince(last) >= interval else { return false }
            last = now
            return true
        }
        if due { Diagnostics.write("upres: " + PlainProgressLine.progress(stats)) }
    }

    func jobFinished(_ r: JobResult) {
        warnings.finished(r)
        if r.interrupted { return Diagnostics.write("upres: " + JobFacts.stoppedLine(r)) }
        guard verbose else { return }
        var line = "upres: " + JobFacts.doneLine(r)
        let classes = PlainProgressLine.classes(r.stats.classesTotal)
        if !classes.isEmpty { line += "; tiles " + classes }
        Diagnostics.write(line)
    }

    func jobFailed(input: String, error: Error) { Diagnostics.error("\(error)") }

    func jobAbandoned(input: String) { Diagnostics.error("\(input): interrupted; no output written") }

    func batchFinished(_ s: BatchSummary) {
        if verbose && s.files > 1 { Diagnostics.write("upres: " + JobFacts.summaryLine(s)) }
    }
}
