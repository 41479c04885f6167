import Foundation
import Testing

/// The curses dashboard in a real terminal (tmux): what it draws, keys, resizes, colour,
/// and that the terminal is given back on every way out.
@Suite("Dashboard in a real terminal", .serialized, .enabled(if: TerminalSession.available, "needs tmux (make deps)"))
struct DashboardTerminalTests {
    let fx = Fixtures.shared

    /// 240 frames of 640x360 upscaled x4 into FFV1: long enough to look at (and the tests
    /// pause it while they do).
    func start(_ s: Scratch, width: Int = 120, height: Int = 40, environment: [String: String] = [:],
               extra: [String] = []) throws -> TerminalSession {
        let input = try s.copy(fx.path("long.mkv"))
        return try TerminalSession([input, "--scale", "4", "--codec", "ffv1", "--upscaler", "lanczos", "-o", "out.mkv",
                                    "--progress", "tui"] + extra,
                                   cwd: s.path, width: width, height: height, environment: environment)
    }

    static func showsDashboard(_ rows: [String]) -> Bool {
        rows.contains { $0.contains("q stop") } && rows.contains { $0.contains("240") }
    }

    /// SGR colour parameters (30-37, 38, 40-47, 48, 90-97, 100-107) in a capture with escapes.
    static func colourCodes(_ rows: [String]) -> [Int] {
        let text = rows.joined(separator: "\n")
        var codes: [Int] = []
        let sgr = try! NSRegularExpression(pattern: "\u{1B}\\[([0-9;]*)m")
        for m in sgr.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let params = (text as NSString).substring(with: m.range(at: 1)).split(separator: ";").compactMap { Int($0) }
            codes += params.filter { (30...38).contains($0) || (40...48).contains($0) || (90...97).contains($0) || (100...107).contains($0) }
        }
        return codes
    }

    func expectRestored(_ t: TerminalSession, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try !t.alternateScreen, "back on the normal screen", sourceLocation: sourceLocation)
        #expect(try t.cursorVisible, "cursor visible again", sourceLocation: sourceLocation)
        let screen = try t.screen()
        #expect(!screen.contains("q stop"), "no dashboard left on the screen:\n\(screen)", sourceLocation: sourceLocation)
        #expect(screen.contains("upres exited"), sourceLocation: sourceLocation)
    }

    @Test("The dashboard shows the job, follows resizes, and q stops it with exit 130")
    func dashboardResizeAndQuit() throws {
        let s = try Scratch()
        let t = try start(s)
        var rows = try t.waitFor("the dashboard", Self.showsDashboard)
        let screen = rows.joined(separator: "\n")
        for expected in ["upres", "long.mkv → out.mkv", "640x360 → 2560x1440 (x4)", "lanczos", "240 frames",
                         "elapsed", "ETA", "Throughput", "fps", "Tiles", "Output", "written", "? help"] {
            #expect(screen.contains(expected), "'\(expected)' missing:\n\(screen)")
        }
        #expect(try t.alternateScreen)
        #expect(try !t.cursorVisible)
        #expect(rows.count >= 40 && rows[39].contains("q stop"), "the key line is the bottom row")
        #expect(!Self.colourCodes(try t.rows(escapes: true)).isEmpty, "colours on a colour terminal")

        try t.keys("p")
        try t.waitFor("PAUSED") { $0.contains { $0.contains("PAUSED") } }
        // tmux keeps the cursor's row when a window shrinks, so the old key line lands on the
        // new bottom row at once: wait for the redrawn top as well.
        try t.resize(width: 80, height: 24)
        rows = try t.waitFor("the 80x24 layout") {
            $0.count >= 24 && $0[0].contains("upres") && $0[23].contains("q stop") && $0.joined().contains("Throughput")
        }
        #expect(rows.allSatisfy { $0.count <= 80 })
        try t.resize(width: 40, height: 10)
        rows = try t.waitFor("the compact layout") {
            $0.count >= 10 && $0[0].contains("long.mkv") && $0[9].contains("q stop") && !$0.joined().contains("Throughput")
        }
        #expect(rows.allSatisfy { $0.count <= 40 }, "\(rows)")
        #expect(rows.joined().contains("240") && rows.joined().contains("%"), "\(rows)")
        try t.resize(width: 30, height: 5)
        rows = try t.waitFor("the minimal layout") { $0.joined().contains("PAUSED") && $0.joined().contains("q stop p resume") }
        #expect(rows.allSatisfy { $0.count <= 30 }, "\(rows)")
        try t.resize(width: 120, height: 40)
        try t.waitFor("the full layout again") {
            $0.count >= 40 && $0[0].contains("upres") && $0[39].contains("q stop") && $0.joined().contains("Throughput")
        }

        try t.keys("q")
        #expect(try t.exitStatus() == 130)
        try expectRestored(t)
        let after = try t.screen()
        #expect(after.contains("stopped:") || after.contains("interrupted"), "what happened is said:\n\(after)")
    }

    @Test("NO_COLOR, the help screen, and Ctrl-C twice stops at once")
    func noColourHelpAndCtrlC() throws {
        let s = try Scratch()
        let t = try start(s, width: 100, height: 30, environment: ["NO_COLOR": "1"])
        try t.waitFor("the dashboard", Self.showsDashboard)
        try t.keys("p")
        try t.waitFor("PAUSED") { $0.contains { $0.contains("PAUSED") } }
        #expect(Self.colourCodes(try t.rows(escapes: true)).isEmpty, "no colour with NO_COLOR")
        try t.keys("?")
        let help = try t.waitFor("the help screen") { $0.joined().contains("Press any key") }
        #expect(help.joined(separator: "\n").contains("░░ flat"), "classes told apart by shades without colour")
        try t.keys("x")
        try t.waitFor("the dashboard again", Self.showsDashboard)
        try t.keys("C-c", "C-c")
        #expect(try t.exitStatus() == 130)
        try expectRestored(t)
    }

    @Test("SIGTERM stops gracefully; the terminal is restored")
    func sigterm() throws {
        let s = try Scratch()
        let t = try start(s, width: 60, height: 12)
        try t.waitFor("the compact dashboard", Self.showsDashboard)
        let pid = try #require(try t.upresPid)
        kill(pid, SIGTERM)
        #expect(try t.exitStatus() == 130)
        try expectRestored(t)
    }

    @Test("A crash while the dashboard is up gives the terminal back and shows the crash report")
    func crash() throws {
        let s = try Scratch()
        let t = try start(s, environment: ["UPRES_DASHBOARD_CRASH_TEST": "3"])
        let status = try #require(try t.exitStatus(timeout: 60))
        #expect(status != 0 && status != 130, "died of the crash: \(status)")
        try expectRestored(t)
        let history = try t.history()
        #expect(history.contains("Fatal error: UPRES_DASHBOARD_CRASH_TEST: crashing after 3 frames"),
                "the message written to stderr under the dashboard is shown:\n\(history)")
    }

    /// Truecolor (38;2) or palette (38;5) foreground colours in the rows right of `column`.
    static func pictureColours(_ rows: [String], palette: Bool = false) -> Set<String> {
        let pattern = palette ? "\u{1B}\\[38;5;([0-9]+)m" : "\u{1B}\\[38;2;([0-9;]+)m"
        let re = try! NSRegularExpression(pattern: pattern)
        var found = Set<String>()
        for row in rows {
            for m in re.matches(in: row, range: NSRange(row.startIndex..., in: row)) {
                found.insert((row as NSString).substring(with: m.range(at: 1)))
            }
        }
        return found
    }

    @Test("v shows the last output frame in 24-bit colour beside the dashboard, m tints the tile classes, v hides it")
    func picturePane() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("long.mkv"))
        let t = try TerminalSession([input, "--codec", "ffv1", "-o", "out.mkv", "--progress", "tui"],
                                    cwd: s.path, width: 120, height: 40, environment: ["COLORTERM": "truecolor"])
        try t.waitFor("the dashboard", Self.showsDashboard)
        try t.keys("v")
        var colours = Set<String>()
        _ = try t.waitFor("the picture") { _ in
            colours = Self.pictureColours((try? t.rows(escapes: true)) ?? [])
            return colours.count > 20
        }
        #expect(colours.count > 20, "a picture of the frame, not one colour")
        let plain = try t.rows()
        #expect(plain.contains { $0.contains("q stop") && $0.contains("v picture") && $0.contains("m classes") })
        #expect(plain.filter { $0.count > 70 && $0.dropFirst(61).contains("\u{2580}") }.count >= 10,
                "half blocks in the right half:\n\(plain.joined(separator: "\n"))")
        try t.keys("p")
        try t.waitFor("PAUSED") { $0.contains { $0.contains("PAUSED") } }
        let before = Self.pictureColours(try t.rows(escapes: true))
        try t.keys("m")
        _ = try t.waitFor("the class tint") { _ in
            let now = Self.pictureColours((try? t.rows(escapes: true)) ?? [])
            return !now.isEmpty && now != before
        }
        try t.resize(width: 100, height: 30)
        _ = try t.waitFor("the picture after a resize") { rows in
            rows.count >= 30 && !Self.pictureColours((try? t.rows(escapes: true)) ?? []).isEmpty
        }
        try t.keys("v")
        _ = try t.waitFor("the picture gone") { rows in
            Self.pictureColours((try? t.rows(escapes: true)) ?? []).isEmpty && rows.contains { $0.contains("q stop") }
        }
        try t.keys("q")
        #expect(try t.exitStatus(timeout: 60) == 130)
        try expectRestored(t)
    }

    @Test("Without 24-bit colour the picture uses the 256-colour palette")
    func picturePalette() throws {
        let s = try Scratch()
        let t = try start(s, environment: ["TERM": "screen-256color"])
        try t.waitFor("the dashboard", Self.showsDashboard)
        try t.keys("v")
        _ = try t.waitFor("the picture in palette colours") { _ in
            Self.pictureColours((try? t.rows(escapes: true)) ?? [], palette: true).count > 10
        }
        #expect(Self.pictureColours(try t.rows(escapes: true)).isEmpty, "no 24-bit colours")
        try t.keys("q")
        #expect(try t.exitStatus(timeout: 60) == 130)
        try expectRestored(t)
    }
}
