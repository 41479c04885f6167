import Testing
import UpresProgress
import UpresTerminal

/// Snapshots as the job publishes them: before the first frame, from the whole-frame
/// pipeline (basic fields only), and from the tile scheduler (every field).
enum Snapshots {
    static var basic: PipelineStats {
        var s = PipelineStats()
        s.input = "clips/harbour-pan.mp4"
        s.output = "clips/harbour-pan.upres-x2.mp4"
        s.inputWidth = 640; s.inputHeight = 360; s.outputWidth = 1280; s.outputHeight = 720
        s.model = "lanczos"
        s.framesDone = 1234; s.framesTotal = 5000
        s.elapsed = 41.2; s.eta = 125; s.fps = 29.8; s.averageFps = 30.1
        s.bytesWritten = 12_900_000
        return s
    }

    static var full: PipelineStats {
        var s = basic
        s.model = "upres-x2"; s.precision = "bf16"; s.threads = 2
        s.jobIndex = 2; s.jobCount = 3
        s.framesTotalEstimated = true
        s.inputMegapixelsPerSecond = 6.9; s.outputMegapixelsPerSecond = 27.6; s.tilesPerSecond = 820
        s.tileSize = 64; s.tileColumns = 10; s.tileRows = 6
        s.lastFrameMap = (0..<60).map { TileClass(rawValue: $0 % 5)! }
        for c in TileClass.allCases { s.classesLastFrame[c] = 12 }
        s.classesTotal.counts = [30_000, 12_000, 8000, 6000, 4000]
        s.multiplyAdds = 3e12; s.multiplyAddsAllHard = 8e12
        s.queueDepths = ["frames": 3, "tiles": 40]; s.queueCapacities = ["frames": 6, "tiles": 360]
        s.workerBusy = [0.97, 0.91]
        s.stageSeconds.decode = 2; s.stageSeconds.classify = 0.5; s.stageSeconds.sr = 30
        s.stageSeconds.stitch = 1; s.stageSeconds.encode = 4
        s.bitrate = 4.1e6; s.estimatedFinalBytes = 52_000_000
        return s
    }

    static let history: [Double?] = Array(repeating: nil, count: 20) + (0..<40).map { 25 + Double($0 % 7) }
}

@Suite("Dashboard rendering")
struct DashboardRendererTests {
    static let sizes = [(1, 1), (5, 2), (20, 3), (39, 7), (40, 8), (60, 15), (79, 21), (80, 22), (80, 24),
                        (100, 30), (120, 40), (200, 60), (300, 12)]

    @Test("Every layout fits its size exactly", arguments: [false, true])
    func fits(colour: Bool) {
        let snapshots = [PipelineStats(), Snapshots.basic, Snapshots.full]
        var notes = DashboardNotes()
        notes.messages = ["upres: warning: a.mp4: something long enough to be cut at the right edge of the screen, surely"]
        for (w, h) in Self.sizes {
            for s in snapshots {
                for unicode in [true, false] {
                    for help in [false, true] {
                        notes.showHelp = help
                        let lines = DashboardRenderer.render(stats: s, history: Snapshots.history, width: w, height: h,
                                                             colour: colour, unicode: unicode, notes: notes)
                        #expect(lines.count <= h, "\(w)x\(h): \(lines.count) lines")
                        for l in lines { #expect(l.width <= w, "\(w)x\(h): '\(l.text)' is \(l.width) wide") }
                        if !help && DashboardLayout.choose(width: w, height: h) != .minimal {
                            #expect(lines.count == h, "\(w)x\(h): the key line sits on the bottom row")
                            #expect(lines.last?.text.contains("q stop") == true)
                        }
                    }
                }
            }
        }
    }

    @Test("The layout follows the terminal size")
    func layouts() {
        #expect(DashboardLayout.choose(width: 120, height: 40) == .full)
        #expect(DashboardLayout.choose(width: 80, height: 22) == .full)
        #expect(DashboardLayout.choose(width: 79, height: 40) == .compact)
        #expect(DashboardLayout.choose(width: 120, height: 21) == .compact)
        #expect(DashboardLayout.choose(width: 40, height: 10) == .compact)
        #expect(DashboardLayout.choose(width: 39, height: 40) == .minimal)
        #expect(DashboardLayout.choose(width: 120, height: 7) == .minimal)
    }

    func text(_ s: PipelineStats, _ w: Int, _ h: Int, colour: Bool = true, unicode: Bool = true,
              notes: DashboardNotes = DashboardNotes()) -> String {
        DashboardRenderer.render(stats: s, history: Snapshots.history, width: w, height: h, colour: colour,
                                 unicode: unicode, notes: notes).map(\.text).joined(separator: "\n")
    }

    @Test("The full layout shows every section of a complete snapshot")
    func fullSnapshot() {
        let t = text(Snapshots.full, 120, 40)
        for expected in ["harbour-pan.mp4", "harbour-pan.upres-x2.mp4", "640x360 → 1280x720 (x2)", "upres-x2 bf16",
                         "2 threads", "job 2/3", "1234/~5000 frames", "24.7%", "elapsed 0:41", "ETA 2:05",
                         "total estimated", "now 29.8 fps", "avg 30.1 fps", "6.90 Mpx/s", "27.6 Mpx/s", "820 tiles/s",
                         "last minute", "peak 31.0 fps", "64 px, 10x6 a frame", "this frame", "all frames",
                         "static", "flat", "easy", "medium", "hard", "20.0%", "50.0%", "60.0k in 1234 frames",
                         "37.5%", "last frame, 10x6 tiles", "queues", "frames 3/6", "tiles 40/360", "workers",
                         "97%", "SR 80.0%", "12.3 MiB written", "4.1 Mbit/s", "49.6 MiB", "q stop", "p pause", "? help"] {
            #expect(t.contains(expected), "'\(expected)' missing from:\n\(t)")
        }
    }

    @Test("Sections without data are greyed one-liners, not empty frames")
    func basicSnapshot() {
        let lines = DashboardRenderer.render(stats: Snapshots.basic, history: [], width: 100, height: 30, colour: true)
        let t = lines.map(\.text).joined(separator: "\n")
        #expect(t.contains("no tile classes reported"))
        #expect(t.contains("no queue or stage statistics"))
        #expect(t.contains("(collecting)"))
        #expect(!t.contains("this frame") && !t.contains("Mpx/s") && !t.contains("job "))
        let greyed = lines.filter { $0.text.contains("no tile classes") || $0.text.contains("no queue") }
        #expect(greyed.count == 2)
        #expect(greyed.allSatisfy { $0.segments.allSatisfy { $0.style == .dim } })
        // Unknown total: no bar, no percent, no ETA guess.
        var s = Snapshots.basic
        s.framesTotal = nil; s.eta = nil
        let u = text(s, 100, 30)
        #expect(u.contains("frame 1234 (total unknown)") && u.contains("ETA --:--"))
        #expect(!u.contains("%") && !u.contains("░"))
        // Before the first job starts: the status line instead of names.
        var notes = DashboardNotes()
        notes.status = "opening clip.mkv"
        let w = text(PipelineStats(), 100, 30, notes: notes)
        #expect(w.contains("opening clip.mkv") && w.contains("waiting for the first frame"))
    }

    @Test("Small terminals get the compact and minimal layouts")
    func smallTerminals() {
        let compact = text(Snapshots.full, 60, 12)
        for e in ["harbour-pan", "24.7%", "1234/~5000", "29.8 fps", "ETA 2:05", "s50%", "h7%", "out 12.3 MiB", "q stop"] {
            #expect(compact.contains(e), "'\(e)' missing from:\n\(compact)")
        }
        let tiny = DashboardRenderer.render(stats: Snapshots.full, history: [], width: 30, height: 3, colour: false)
        #expect(tiny.count == 3)
        #expect(tiny.map(\.text) == [String(repeating: "█", count: 7) + "▍" + String(repeating: "░", count: 22),
                                     "24.7% 1234/~5000 29.8fps ETA 2", "q stop p pause"])
        let one = text(Snapshots.full, 30, 1)
        #expect(one.hasPrefix("24.7% 1234/~5000"))
    }

    @Test("Paused and stopping states show in the header and the key line")
    func states() {
        var s = Snapshots.full
        s.paused = true
        var t = text(s, 120, 40)
        #expect(t.contains("PAUSED") && t.contains("p resume") && t.contains("ETA paused"))
        s.stopping = true
        t = text(s, 120, 40)
        #expect(t.contains("STOPPING") && t.contains("Ctrl-C again stops now"))
        #expect(text(s, 30, 2).contains("STOPPING"))
    }

    @Test("Without colour, classes are told apart by shade characters")
    func noColour() {
        let colour = text(Snapshots.full, 120, 40, colour: true)
        let plain = text(Snapshots.full, 120, 40, colour: false)
        #expect(colour.contains("██████") && !colour.contains("▓▓"))
        #expect(plain.contains("▓▓") && plain.contains("·"))
        let ascii = text(Snapshots.full, 120, 40, colour: false, unicode: false)
        #expect(ascii.unicodeScalars.allSatisfy { $0.isASCII }, "ASCII only: \(ascii)")
        #expect(ascii.contains("->") && ascii.contains("**"))
    }

    @Test("Messages and long names are cut to the width, file name end kept")
    func longNames() {
        var s = Snapshots.full
        s.input = "/very/long/folder/name/that/goes/on/and/on/and/on/holiday-2019-beach-sunset.mkv"
        s.output = "/very/long/folder/name/that/goes/on/and/on/and/on/holiday-2019-beach-sunset.upres-x2.mkv"
        let title = DashboardRenderer.render(stats: s, history: [], width: 80, height: 24, colour: true)[0]
        #expect(title.width <= 80)
        #expect(title.text.contains("…"))
        #expect(title.text.contains("sunset.upres-x2.mkv"), "\(title.text)")
        #expect(title.text.hasSuffix("job 2/3"))
    }

    @Test("What went to stderr shows under the output, styled by kind")
    func messages() {
        var notes = DashboardNotes()
        notes.messages = ["upres: done: a.mkv: 48 frames", "upres: warning: b.mkv: 3 frames re-timed",
                          "upres: error: c.mkv: no such file"]
        let lines = DashboardRenderer.render(stats: Snapshots.full, history: [], width: 120, height: 60, colour: true,
                                             notes: notes)
        let shown = lines.filter { $0.text.hasPrefix("upres: ") }
        #expect(shown.map(\.text) == Array(notes.messages.suffix(2)), "the newest two")
        #expect(shown.map { $0.segments.first?.style } == [.warning, .bad])
        let compact = DashboardRenderer.render(stats: Snapshots.full, history: [], width: 60, height: 12, colour: true,
                                               notes: notes)
        #expect(compact.contains { $0.text.hasPrefix("upres: error: c.mkv") })
    }
}

@Suite("Dashboard pieces")
struct DashboardPiecesTests {
    @Test("Class bar widths are proportional and add up to the bar")
    func classWidths() {
        var c = ClassCounts()
        c.counts = [10, 20, 30, 40, 0]
        #expect(Bars.classWidths(c, columns: 50) == [5, 10, 15, 20, 0])
        #expect(Bars.classWidths(ClassCounts(), columns: 50) == [0, 0, 0, 0, 0])
        var seed: UInt64 = 42
        for _ in 0..<200 {
            for i in 0..<5 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                c.counts[i] = Int(seed >> 33) % 1000
            }
            let columns = Int(seed >> 20) % 70 + 1
            let w = Bars.classWidths(c, columns: columns)
            guard c.total > 0 else { continue }
            #expect(w.reduce(0, +) == columns)
            for i in 0..<5 {
                let exact = Double(c.counts[i]) * Double(columns) / Double(c.total)
                #expect(abs(Double(w[i]) - exact) < 1, "\(c.counts) in \(columns): \(w)")
            }
        }
        let bar = Bars.classes(c, columns: 33, glyphs: .unicode, colour: true)
        #expect(bar.width == 33)
        #expect(bar.segments.map(\.style) == TileClass.allCases.filter { Bars.classWidths(c, columns: 33)[$0.rawValue] > 0 }.map { .tile($0) })
    }

    @Test("Progress bar in eighths, ASCII rounded")
    func progressBar() {
        #expect(Bars.progress(0.5, columns: 10, glyphs: .unicode).text == "█████░░░░░")
        #expect(Bars.progress(0.55, columns: 10, glyphs: .unicode).text == "█████▌░░░░")
        #expect(Bars.progress(1, columns: 4, glyphs: .unicode).text == "████")
        #expect(Bars.progress(0, columns: 4, glyphs: .ascii).text == "....")
        #expect(Bars.progress(0.55, columns: 10, glyphs: .ascii).text == "######....")
        #expect(Bars.progress(.nan, columns: 3, glyphs: .ascii).text == "...")
        for f in stride(from: 0.0, through: 1.0, by: 0.013) {
            #expect(Bars.progress(f, columns: 17, glyphs: .unicode).width == 17)
            #expect(Bars.progress(f, columns: 17, glyphs: .ascii).width == 17)
        }
    }

    @Test("The tile map keeps its shape and shows the most common class")
    func tileMap() {
        let map: [TileClass] = [.static, .flat, .easy, .hard,
                                .medium, .medium, .hard, .hard]
        let big = Bars.tileMap(map, columns: 4, rows: 2, maxColumns: 100, maxRows: 10, glyphs: .unicode, colour: false)
        #expect(big.map(\.text) == ["··░░▒▒██", "▓▓▓▓████"])
        let small = Bars.tileMap(map, columns: 4, rows: 2, maxColumns: 2, maxRows: 1, glyphs: .unicode, colour: false)
        #expect(small.map(\.text) == ["▓█"])
        #expect(Bars.tileMap(map, columns: 5, rows: 2, maxColumns: 10, maxRows: 5, glyphs: .unicode, colour: false).isEmpty)
    }

    @Test("Numbers are formatted for people")
    func formats() {
        #expect(Format.clock(41.4) == "0:41")
        #expect(Format.clock(725) == "12:05")
        #expect(Format.clock(3723) == "1:02:03")
        #expect(Format.clock(nil) == "--:--")
        #expect(Format.clock(.infinity) == "--:--")
        #expect(Format.bytes(512) == "512 B")
        #expect(Format.bytes(12_900_000) == "12.3 MiB")
        #expect(Format.bytes(3 << 30) == "3.00 GiB")
        #expect(Format.bitrate(4.1e6) == "4.1 Mbit/s")
        #expect(Format.bitrate(850e3) == "850 kbit/s")
        #expect(Format.percent(0.2468) == "24.7%")
        #expect(Format.percent(0.99999) == "100%")
        #expect(Format.percent(2) == "100%")
        #expect(Format.rate(0.4213) == "0.42")
        #expect(Format.rate(29.84) == "29.8")
        #expect(Format.rate(812.4) == "812")
        #expect(Format.count(60_000) == "60.0k")
        #expect(Format.count(2_500_000) == "2.5M")
    }

    @Test("Text width counts terminal columns")
    func widths() {
        #expect(TextWidth.of("clip.mp4") == 8)
        #expect(TextWidth.of("映画.mp4") == 8)
        #expect(TextWidth.of("e\u{301}") == 1)
        #expect(TextWidth.prefix("映画.mp4", columns: 3) == "映")
        #expect(TextWidth.fit("abcdefghijklmnopqrstuvwxyz.mp4", columns: 12, ellipsis: "…") == "abcd…xyz.mp4")
        #expect(TextWidth.fit("short", columns: 12, ellipsis: "…") == "short")
        #expect(TextWidth.sanitized("a\nb\u{1B}[2J") == "a?b?[2J")
        let l = Line("映画", .bold)
        #expect(l.truncated(to: 3).text == "映")
        #expect(Line.spread(Line("left"), Line("right"), columns: 12).text == "left   right")
    }
}

@Suite("Plain progress lines")
struct PlainProgressLineTests {
    @Test("Frames, percent, fps, ETA and class shares on one line")
    func line() {
        #expect(PlainProgressLine.progress(Snapshots.basic)
                == "frame 1234/5000 (24.7%)  29.8 fps  ETA 2:05  elapsed 0:41  12.3 MiB")
        #expect(PlainProgressLine.progress(Snapshots.full).hasSuffix(
            "12.3 MiB  tiles static 50% flat 20% easy 13% medium 10% hard 7%"))
        var s = Snapshots.basic
        s.framesTotal = nil
        #expect(PlainProgressLine.progress(s) == "frame 1234  29.8 fps  elapsed 0:41  12.3 MiB")
    }
}
