import CNcurses
import Foundation
import Synchronization
import UpresKit
import UpresTerminal

/// The live dashboard: the job thread publishes snapshots behind a mutex; one UI thread owns
/// curses, reads keys (waiting at most 100 ms for one), and redraws from the latest snapshot
/// at most ten times a second, after a key, and after a resize.
///
///     let dashboard = try CursesDashboard.start()
///     dashboard.publish(stats)      // from any thread
///     dashboard.close()             // terminal restored when this returns
final class CursesDashboard: Sendable {
    private struct Shared {
        var stats = PipelineStats()
        var publishedAt = 0.0
        var history = ThroughputHistory()
        var notes = DashboardNotes()
        var jobIndex = 1
        var jobCount = 1
        var closing = false
    }
    private let shared = Mutex(Shared())
    private let finished = DispatchSemaphore(value: 0)
    static let redrawInterval = 0.1
    /// Thumbnails of the output for the picture pane (`v`); made only while it is shown.
    let preview = FramePreview()

    private init() {}

    /// How the UI thread tells `start` whether curses came up.
    private final class Startup: Sendable {
        let ready = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
    }

    /// Takes over the terminal and starts the UI thread; throws when this terminal cannot
    /// show the dashboard (the caller falls back to plain lines).
    static func start() throws -> CursesDashboard {
        let dashboard = CursesDashboard()
        let startup = Startup()
        let thread = Thread {
            let screen: CursesScreen
            do { screen = try CursesScreen() } catch {
                startup.failure.withLock { $0 = "\(error)" }
                startup.ready.signal()
                return
            }
            startup.ready.signal()
            dashboard.run(screen)
        }
        thread.name = "upres dashboard"
        thread.start()
        startup.ready.wait()
        if let reason = startup.failure.withLock({ $0 }) { throw CursesScreen.Unavailable(description: reason) }
        return dashboard
    }

    // MARK: - From the batch loop and the job

    func publish(_ stats: PipelineStats) {
        let now = ThroughputHistory.monotonicClock()
        shared.withLock { s in
            s.stats = stats
            s.publishedAt = now
            s.history.record(stats)
            s.notes.status = nil
        }
    }

    /// Between jobs: a blank snapshot, "opening NAME" in the header.
    func jobStarting(input: String, index: Int, count: Int) {
        shared.withLock { s in
            s.stats = PipelineStats()
            s.notes.status = "opening \(input)"
            s.jobIndex = index
            s.jobCount = count
        }
    }

    func jobFailed() { shared.withLock { $0.notes.filesFailed += 1 } }

    /// Ends the UI thread and waits until the terminal is restored (at most 2 s: a stuck
    /// terminal must not keep the process from reporting and exiting).
    func close() {
        let first = shared.withLock { s -> Bool in
            defer { s.closing = true }
            return !s.closing
        }
        if first { _ = finished.wait(timeout: .now() + 2) }
    }

    // MARK: - The UI thread

    private func run(_ screen: CursesScreen) {
        var lastDraw = -Double.infinity
        var showHelp = false
        var showPicture = false
        var showMap = false
        var pictureShown: String? = nil     // what the pane last drew (redrawn when it changes)
        while true {
            var redraw = false
            if let key = screen.readKey() {
                redraw = true
                pictureShown = nil
                switch key {
                case KEY_RESIZE, 12:                   // 12: Ctrl-L
                    screen.repaintAll()
                case 3:                                // Ctrl-C (raw mode: a key, not a signal)
                    Interrupts.request()
                case _ where showHelp:
                    showHelp = false
                case Int32(UInt8(ascii: "q")), Int32(UInt8(ascii: "Q")):
                    Interrupts.request()
                case Int32(UInt8(ascii: "p")), Int32(UInt8(ascii: "P")), Int32(UInt8(ascii: " ")):
                    Interrupts.control.togglePause()
                case Int32(UInt8(ascii: "?")), Int32(UInt8(ascii: "h")):
                    showHelp = true
                case Int32(UInt8(ascii: "v")), Int32(UInt8(ascii: "V")):
                    showPicture.toggle()
                    if !showPicture { preview.stop() }
                    screen.repaintAll()    // the picture's cells are not curses': redraw them all
                case Int32(UInt8(ascii: "m")), Int32(UInt8(ascii: "M")):
                    showMap.toggle()
                default:
                    redraw = false
                }
            }
            let messages = screen.newMessages()
            let closing = shared.withLock { s -> Bool in
                s.notes.messages = Array((s.notes.messages + messages).suffix(20))
                return s.closing
            }
            // Stop now: give the terminal back at once, the job has two seconds to follow.
            if closing || Interrupts.stopNowRequested { break }
            let now = ThroughputHistory.monotonicClock()
            guard redraw || !messages.isEmpty || now - lastDraw >= Self.redrawInterval else { continue }
            lastDraw = now
            let (width, height) = screen.size
            let pane = showPicture && !showHelp ? PictureLayout(width: width, height: height, screen: screen) : nil
            if showPicture && !showHelp, pane == nil { preview.stop() }
            let (stats, history, notes) = shared.withLock { s in
                var stats = s.stats
                stats.jobIndex = s.jobIndex
                stats.jobCount = s.jobCount
                stats.paused = Interrupts.control.paused
                stats.stopping = Interrupts.requested
                // Between snapshots (a slow frame, a pause) the clock keeps going.
                if !stats.input.isEmpty && !stats.paused { stats.elapsed += max(0, now - s.publishedAt) }
                var notes = s.notes
                notes.showHelp = showHelp
                notes.picture = showPicture ? (pane == nil ? PictureLayout.unavailable(width: width, height: height, screen: screen)
                                                           : "picture") : nil
                return (stats, s.history.rates(), notes)
            }
            screen.draw(DashboardRenderer.render(stats: stats, history: history, width: pane?.textWidth ?? width, height: height,
                                                 colour: screen.colour, unicode: screen.unicode, notes: notes),
                        reserved: pane.map { ($0.x, $0.y, $0.columns, $0.rows) })
            if let pane, let colours = screen.pictureColours {
                let size = PicturePane.pixelSize(columns: pane.columns, rows: pane.rows, unicode: screen.unicode)
                preview.request(width: size.width, height: size.height)
                let showing = preview.latest.map { "\($0.frameNumber) \($0.width)x\($0.height) \(showMap) \(pane)" }
                if let thumbnail = preview.latest, showing != pictureShown {
                    pictureShown = showing
                    let rows = PicturePane.render(thumbnail, columns: pane.columns, rows: pane.rows, colours: colours,
                                                  unicode: screen.unicode,
                                                  overlay: showMap ? PicturePane.ClassOverlay(stats: stats) : nil)
                    screen.drawPicture(rows, x: pane.x, y: pane.y)
                }
            }
        }
        preview.stop()
        screen.close()
        finished.signal()
    }
}

/// Where the picture pane goes: the right part of the screen, beside a narrower dashboard,
/// between the title row and the key line.
struct PictureLayout {
    static let minimumWidth = 60, minimumHeight = 10
    var textWidth: Int
    var x: Int, y: Int, columns: Int, rows: Int

    init?(width: Int, height: Int, screen: CursesScreen) {
        guard screen.pictureColours != nil, width >= Self.minimumWidth, height >= Self.minimumHeight else { return nil }
        textWidth = max(40, min(80, width / 2))
        x = textWidth + 1
        y = 1
        columns = width - x
        rows = height - 2
    }

    /// Why there is no pane (shown on the dashboard instead).
    static func unavailable(width: Int, height: Int, screen: CursesScreen) -> String {
        screen.pictureColours == nil
            ? "the picture needs a terminal with 256 colours (or 24-bit: COLORTERM=truecolor)"
            : "the picture needs a terminal of at least \(minimumWidth)x\(minimumHeight)"
    }
}
