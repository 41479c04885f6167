import CNcurses
import CTerminalShims
import Foundation
import UpresKit
import UpresTerminal

/// The terminal while the dashboard owns it: curses on the alternate screen in raw mode,
/// stderr captured to a file (replayed when the screen is given back). Owned and used by
/// one thread only (CursesDashboard's UI thread): curses is not thread-safe.
final class CursesScreen {
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let output: UnsafeMutablePointer<FILE>
    private let input: UnsafeMutablePointer<FILE>
    let colour: Bool
    let unicode: Bool
    /// What the picture pane can use: 24-bit colour, the 256-colour palette, or nothing.
    let pictureColours: PictureColours?
    /// The stderr capture file (-1 when capturing failed: messages then go to the screen).
    let captureFd: Int32
    private var captureRead: off_t = 0
    private var partialMessage = ""
    private var attributes: [Style: Int32] = [:]
    private(set) var closed = false

    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// Takes over the terminal on stderr (keys from stdin, or /dev/tty when stdin is redirected).
    init() throws {
        guard isatty(STDERR_FILENO) != 0 else { throw Unavailable(description: "stderr is not a terminal") }
        setlocale(LC_CTYPE, "")    // only the character set: number formats stay C for FFmpeg's parsers
        unicode = String(cString: nl_langinfo(nl_item(CODESET))) == "UTF-8"
        let outFd = dup(STDERR_FILENO)
        let inFd = isatty(STDIN_FILENO) != 0 ? dup(STDIN_FILENO) : open("/dev/tty", O_RDONLY)
        guard outFd >= 0, inFd >= 0, let out = fdopen(outFd, "w"), let inp = fdopen(inFd, "r") else {
            if outFd >= 0 { Glibc.close(outFd) }
            if inFd >= 0 { Glibc.close(inFd) }
            throw Unavailable(description: "no terminal to read keys from")
        }
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        upres_terminal_guard_save(outFd)
        guard !term.isEmpty, term != "dumb", let s = newterm(nil, out, inp) else {
            fclose(out)
            fclose(inp)
            throw Unavailable(description: "terminal type '\(term)' cannot show it")
        }
        guard Self.capability("cup") != nil, let win = upres_stdscr() else {
            endwin()
            delscreen(s)
            fclose(out)
            fclose(inp)
            throw Unavailable(description: "terminal type '\(term)' has no cursor addressing")
        }
        screen = s
        window = win
        output = out
        input = inp
        // What endwin() would send, ready for a signal handler: reset attributes, show the
        // cursor, keypad off, leave the alternate screen.
        let restore = ["sgr0", "cnorm", "rmkx", "rmcup"].compactMap(Self.capability).joined()
        upres_terminal_guard_install()
        upres_terminal_guard_arm(restore)
        raw()
        noecho()
        keypad(win, true)
        wtimeout(win, 100)
        curs_set(0)
        let noColour = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        // COLORS is only known after start_color().
        colour = !noColour && has_colors() && start_color() == OK && upres_colors() >= 8
        if colour {
            let background: Int16 = use_default_colors() == OK ? -1 : Int16(COLOR_BLACK)
            for (pair, fg) in [COLOR_GREEN, COLOR_YELLOW, COLOR_RED, COLOR_CYAN, COLOR_BLUE, COLOR_MAGENTA].enumerated() {
                init_pair(Int16(pair + 1), Int16(fg), background)
            }
        }
        attributes = Self.attributes(colour: colour)
        pictureColours = Self.pictureColours(colour: colour)
        captureFd = upres_stderr_capture_begin()
    }

    /// 24-bit colour where the terminal says so (COLORTERM, as terminals and tmux set it, or
    /// terminfo's RGB / Tc flags), else the 256-colour palette where it has one.
    private static func pictureColours(colour: Bool) -> PictureColours? {
        guard colour else { return nil }
        let colourTerm = (ProcessInfo.processInfo.environment["COLORTERM"] ?? "").lowercased()
        if colourTerm == "truecolor" || colourTerm == "24bit" || tigetflag("RGB") > 0 || tigetflag("Tc") > 0 {
            return .truecolor
        }
        return upres_colors() >= 256 ? .palette256 : nil
    }

    /// A terminfo string capability, nil when the terminal lacks it.
    private static func capability(_ name: String) -> String? {
        guard let p = tigetstr(name), Int(bitPattern: p) != -1 else { return nil }
        return String(cString: p)
    }

    private static func attributes(colour: Bool) -> [Style: Int32] {
        let bold = upres_a_bold(), dim = upres_a_dim(), reverse = upres_a_reverse()
        func pair(_ n: Int32) -> Int32 { colour ? COLOR_PAIR(n) : 0 }
        let green = pair(1), yellow = pair(2), red = pair(3), cyan = pair(4), blue = pair(5), magenta = pair(6)
        var a: [Style: Int32] = [
            .normal: 0, .bold: bold, .dim: dim, .title: reverse | bold | cyan, .key: bold | cyan, .accent: cyan,
            .good: green, .warning: bold | yellow, .bad: bold | red, .barDone: green, .barTodo: dim,
        ]
        // ClassSR's masks: green / yellow / red for easy / medium / hard; reuse blue, cheap flat magenta.
        for (c, attr) in zip(TileClass.allCases, [blue, magenta, green, yellow, red]) { a[.tile(c)] = attr }
        return a
    }

    var size: (width: Int, height: Int) { (Int(getmaxx(window)), Int(getmaxy(window))) }

    /// The next key, or nil after 100 ms without one.
    func readKey() -> Int32? {
        let k = wgetch(window)
        return k == ERR ? nil : k
    }

    /// After a resize or Ctrl-L: repaint every cell on the next draw, not just the changes.
    func repaintAll() { clearok(window, true) }

    /// Draws the dashboard's lines; `reserved` cells (the picture pane) get a placeholder that
    /// never changes, so curses neither draws over the picture written there nor clears it
    /// with an erase-to-end-of-line.
    func draw(_ lines: [Line], reserved: (x: Int, y: Int, columns: Int, rows: Int)? = nil) {
        let (width, height) = size
        werase(window)
        if let r = reserved {
            let placeholder = String(repeating: unicode ? "\u{2580}" : "#", count: max(0, min(r.columns, width - r.x)))
            for row in r.y..<min(height - 1, r.y + r.rows) {
                wmove(window, Int32(row), Int32(r.x))
                waddstr(window, placeholder)
            }
        }
        for (y, line) in lines.prefix(height).enumerated() {
            // Writing the bottom-right cell moves the cursor past the end of the screen.
            let fitted = y == height - 1 ? line.truncated(to: width - 1) : line
            wmove(window, Int32(y), 0)
            for segment in fitted.segments {
                wattrset(window, attributes[segment.style] ?? 0)
                // Outside a UTF-8 locale curses shows other bytes as M-x sequences, wider than counted.
                let text = unicode ? segment.text
                    : String(String.UnicodeScalarView(segment.text.unicodeScalars.map { $0.isASCII ? $0 : "?" }))
                waddstr(window, text)
            }
        }
        wattrset(window, 0)
        wnoutrefresh(window)
        doupdate()
    }

    /// Writes picture rows (text with their own SGR colours: `PicturePane`) at column `x`,
    /// row `y`, after curses has drawn: straight to the terminal, between a cursor save and
    /// restore, so curses' idea of the cursor stays right. Curses keeps those cells blank, so
    /// it never draws over them; `repaintAll` when the pane goes away.
    func drawPicture(_ rows: [String], x: Int, y: Int) {
        var text = "\u{1B}7"
        for (i, row) in rows.enumerated() { text += "\u{1B}[\(y + i + 1);\(x + 1)H" + row }
        text += "\u{1B}[0m\u{1B}8"
        fputs(text, output)
        fflush(output)
    }

    /// Lines written to stderr since the last call (complete lines only).
    func newMessages() -> [String] {
        guard captureFd >= 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 8192)
        var text = ""
        while true {
            let n = pread(captureFd, &buffer, buffer.count, captureRead)
            if n <= 0 { break }
            captureRead += off_t(n)
            text += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        guard !text.isEmpty else { return [] }
        var lines = (partialMessage + text).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        partialMessage = lines.removeLast()
        return lines.filter { !$0.isEmpty }
    }

    /// Gives the terminal back: normal screen, modes, cursor; replays what went to stderr.
    func close() {
        guard !closed else { return }
        closed = true
        if !isendwin() { endwin() }
        upres_terminal_guard_disarm()
        delscreen(screen)
        fclose(output)
        fclose(input)
        upres_stderr_capture_end()
    }
}
