import Foundation
import Testing

/// A real terminal for the dashboard: a detached tmux session on a private socket (never
/// the user's tmux server), running upres from a small script that records its exit
/// status and then keeps the pane open so the screen can be read after upres is gone.
final class TerminalSession {
    static var available: Bool { FileManager.default.isExecutableFile(atPath: Shell.which("tmux")) }

    let socket: String
    private let statusFile: String

    init(_ args: [String], cwd: String, width: Int, height: Int, environment: [String: String] = [:]) throws {
        socket = "/tmp/upres-tmux-\(getpid())-\(UUID().uuidString.prefix(8))"
        statusFile = cwd + "/upres-exit-status"
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let env = ["LANG": "C.UTF-8", "SWIFT_BACKTRACE": "interactive=no"].merging(environment) { $1 }
        let script = """
            #!/bin/sh
            trap '' INT
            cd \(quoted(cwd))
            \(env.sorted { $0.key < $1.key }.map { "export \($0.key)=\(quoted($0.value))" }.joined(separator: "\n"))
            \(([Upres.binary] + args).map(quoted).joined(separator: " "))
            echo $? > \(quoted(statusFile)).tmp && mv \(quoted(statusFile)).tmp \(quoted(statusFile))
            echo "upres exited"
            exec sleep 600
            """
        let path = cwd + "/run-in-terminal.sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        let r = try tmux(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "\(width)", "-y", "\(height)", path])
        if r.status != 0 { throw FixtureError("tmux new-session: \(r.stderr)") }
    }

    deinit {
        _ = try? tmux(["kill-session", "-t", "t"])   // the private server exits with its last session
        try? FileManager.default.removeItem(atPath: socket)
    }

    /// Runs the tmux client and waits for it with posix_spawn and waitpid, output through a
    /// file: Foundation's Process does not notice this client's exit once it has started a
    /// server (waitUntilExit hangs until the server is gone).
    @discardableResult
    func tmux(_ args: [String]) throws -> RunResult {
        let argv = [Shell.which("tmux"), "-S", socket] + args
        let out = socket + ".out", err = socket + ".err"
        defer {
            unlink(out)
            unlink(err)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "TMUX")
        // `swift test` exports NO_COLOR=1 when its output is not a terminal; the tests choose
        // colour or not themselves (`environment:`), so don't inherit it.
        env.removeValue(forKey: "NO_COLOR")
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw FixtureError("cannot run tmux: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return RunResult(status: code, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// The visible screen, one string per row; with `escapes`, colours and attributes as SGR sequences.
    func rows(escapes: Bool = false) throws -> [String] {
        let r = try tmux(["capture-pane", "-p", "-t", "t"] + (escapes ? ["-e"] : []))
        if r.status != 0 { throw FixtureError("tmux capture-pane: \(r.stderr)") }
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    func screen() throws -> String { try rows().joined(separator: "\n") }

    /// Everything the pane showed, scrollback included.
    func history() throws -> String { try tmux(["capture-pane", "-p", "-S", "-", "-t", "t"]).stdout }

    /// Polls the screen until `condition` holds; fails the test with the last screen if not.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 60, _ condition: ([String]) -> Bool,
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String] = []
        while Date() < deadline {
            last = try rows()
            if condition(last) { return last }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what); screen:\n\(last.joined(separator: "\n"))", sourceLocation: sourceLocation)
        return last
    }

    func keys(_ keys: String...) throws { try tmux(["send-keys", "-t", "t"] + keys) }

    func resize(width: Int, height: Int) throws {
        try tmux(["resize-window", "-t", "t", "-x", "\(width)", "-y", "\(height)"])
    }

    private func flag(_ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", "t", format]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    var alternateScreen: Bool { get throws { try flag("#{alternate_on}") == "1" } }
    var cursorVisible: Bool { get throws { try flag("#{cursor_flag}") == "1" } }

    /// upres's process id (the child of the pane's shell), nil once it has exited.
    var upresPid: Int32? {
        get throws {
            let shell = try flag("#{pane_pid}")
            let r = try Shell.run(Shell.which("pgrep"), ["-P", shell, "-f", Upres.binary])
            return r.stdout.split(separator: "\n").first.flatMap { Int32($0) }
        }
    }

    /// upres's exit status, waiting up to `timeout` seconds for it.
    func exitStatus(timeout: Double = 30) throws -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let s = try? String(contentsOfFile: statusFile, encoding: .utf8) {
                return Int32(s.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            usleep(100_000)
        }
        return nil
    }
}
