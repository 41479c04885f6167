import Foundation
import UpresKit

/// `--progress tui` (the default on a terminal): the live dashboard while the batch runs.
/// Warnings, errors and per-file summaries are written to stderr as in plain mode; stderr is
/// captured while the dashboard is up (its latest lines show on it) and replayed on the
/// normal screen when it closes, followed by the batch summary.
final class DashboardFrontEnd: ProgressFrontEnd {
    private let dashboard: CursesDashboard
    private let warnings = WarningPrinter()

    /// Fails (with the reason) when this terminal cannot show the dashboard.
    static func start() -> Result<DashboardFrontEnd, Error> {
        Result { DashboardFrontEnd(try CursesDashboard.start()) }
    }

    private init(_ dashboard: CursesDashboard) { self.dashboard = dashboard }

    var preview: FramePreview? { dashboard.preview }

    func jobStarting(input: String, index: Int, count: Int) {
        dashboard.jobStarting(input: input, index: index, count: count)
    }

    func jobStarted(_ job: UpscaleJob, _ stats: PipelineStats) {
        warnings.started(job)
        dashboard.publish(stats)
    }

    func progress(_ stats: PipelineStats) {
        dashboard.publish(stats)
        if let n = Self.crashTestFrames, stats.framesDone >= n { fatalError("UPRES_DASHBOARD_CRASH_TEST: crashing after \(n) frames") }
    }

    /// Fault injection for the tests that check a crash gives the terminal back (a trap on
    /// the job thread while curses owns the screen); unset in normal use.
    private static let crashTestFrames = ProcessInfo.processInfo.environment["UPRES_DASHBOARD_CRASH_TEST"].flatMap { Int($0) }

    func jobFinished(_ r: JobResult) {
        warnings.finished(r)
        dashboard.publish(r.stats)
        Diagnostics.write("upres: " + (r.interrupted ? JobFacts.stoppedLine(r) : JobFacts.doneLine(r)))
    }

    func jobFailed(input: String, error: Error) {
        dashboard.jobFailed()
        Diagnostics.error("\(error)")
    }

    func jobAbandoned(input: String) { Diagnostics.error("\(input): interrupted; no output written") }

    func batchFinished(_ s: BatchSummary) {
        dashboard.close()
        if s.files > 1 { Diagnostics.write("upres: " + JobFacts.summaryLine(s)) }
    }
}
