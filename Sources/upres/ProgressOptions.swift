import ArgumentParser
import Foundation

enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    case auto, tui, plain, json, none
}

/// How a run reports progress: the dashboard, plain lines, JSON events or nothing.
struct ProgressOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Progress display: auto (tui when stderr is a terminal, else plain), tui (full-screen dashboard), plain (a line every few seconds on stderr), json (JSON Lines events on stdout, see JSON EVENTS) or none.",
        valueName: "mode"))
    var progress: ProgressMode?

    @Flag(name: [.short, .long], help: "Print only errors and warnings (same as --progress none).")
    var quiet = false

    @Option(name: .customLong("progress-file"), help: ArgumentHelp(
        "With --progress json, write the events to this file instead of stdout (a FIFO or /dev/stderr works too; needed with -o -).", valueName: "path"))
    var progressFile: String?

    @Option(name: .customLong("progress-interval"), help: ArgumentHelp(
        "Seconds between progress lines or events (default: 5 for plain, 1 for json).", valueName: "seconds"))
    var progressInterval: Double?

    func validate() throws {
        if quiet, let p = progress, p != .none { throw ValidationError("use either -q/--quiet or --progress \(p.rawValue), not both") }
        if progressFile != nil && progress != .json { throw ValidationError("--progress-file needs --progress json") }
        if let i = progressInterval, !(i > 0 && i <= 3600) {
            throw ValidationError("--progress-interval must be more than 0 and at most 3600 seconds")
        }
    }

    /// The mode to use: `auto` resolved by whether stderr is a terminal.
    var mode: ProgressMode {
        if quiet { return .none }
        let m = progress ?? .auto
        if m == .auto { return isatty(STDERR_FILENO) != 0 ? .tui : .plain }
        return m
    }

    /// The front end for this run; the dashboard falls back to plain lines when the terminal
    /// cannot show it (with a warning when it was asked for by name).
    func makeFrontEnd() throws -> any ProgressFrontEnd {
        switch mode {
        case .tui:
            switch DashboardFrontEnd.start() {
            case .success(let dashboard): return dashboard
            case .failure(let reason):
                if progress == .tui { Diagnostics.warning("no dashboard: \(reason); showing plain progress") }
                return PlainProgress(verbose: true, interval: progressInterval ?? 5)
            }
        case .plain, .auto:
            return PlainProgress(verbose: true, interval: progressInterval ?? 5)
        case .none:
            return PlainProgress(verbose: false, interval: .infinity)
        case .json:
            var out = FileHandle.standardOutput
            if let path = progressFile, path != "-" {
                // open(2), not an atomic create-and-rename: a FIFO, /dev/stderr or a symlink is
                // written to, not replaced.
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    Diagnostics.error("\(path): cannot write the progress file: \(String(cString: strerror(errno)))")
                    throw ExitCode(ExitStatus.failed)
                }
                out = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            }
            return JSONEvents(output: out, interval: progressInterval ?? 1)
        }
    }
}
