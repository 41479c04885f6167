import Foundation

/// A running upres whose stdout or stderr the test reads line by line. Reading blocks until
/// upres writes, so waiting for a line is waiting for an event (a JSON progress event, the
/// test hook's "paused" line), with no sleep and no guess of how long the run takes.
final class LiveProcess {
    let process: Process
    private let lines: FileHandle
    private var buffer = Data()

    enum Stream { case stdout, stderr }

    /// Starts upres with `args`; `watch` is the stream read by `waitForLine`, the other goes to
    /// /dev/null. `environment` adds to the test's own.
    init(_ args: [String], cwd: String, watch: Stream, environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Upres.binary)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = watch == .stdout ? pipe : FileHandle.nullDevice
        process.standardError = watch == .stderr ? pipe : FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "interactive=no"
        env.merge(environment) { $1 }
        process.environment = env
        try process.run()
        lines = pipe.fileHandleForReading
    }

    /// Reads lines until one satisfies `match` and returns it; nil when the stream ends first
    /// (upres exited without writing such a line).
    func waitForLine(_ match: (String) -> Bool) -> String? {
        while true {
            while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                if match(line) { return line }
            }
            let chunk = lines.availableData   // blocks until data or end of stream
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    /// Waits for the `UPRES_TEST_PAUSE_AFTER_FRAMES` hook's line (the job is blocked, paused).
    func waitUntilPaused() -> Bool { waitForLine { $0.contains("upres: test hook: paused after") } != nil }

    /// The `frames_done` of a `--progress json` progress event line, nil for other lines.
    static func framesDone(_ line: String) -> Int? {
        guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              e["event"] as? String == "progress" else { return nil }
        return (e["frames_done"] as? NSNumber)?.intValue
    }

    var pid: Int32 { process.processIdentifier }

    func kill(_ signal: Int32) { _ = Foundation.kill(process.processIdentifier, signal) }

    @discardableResult
    func wait() -> Int32 {
        process.waitUntilExit()
        try? lines.close()
        return process.terminationStatus
    }
}
