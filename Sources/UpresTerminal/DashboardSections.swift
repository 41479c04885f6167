import UpresProgress

/// The dashboard's sections as lines for a given width. Each returns what it has to say;
/// the layout (DashboardRenderer) decides which sections fit.
struct DashboardSections {
    let stats: PipelineStats
    let history: [Double?]
    let width: Int
    let colour: Bool
    let glyphs: Glyphs
    let notes: DashboardNotes

    /// Columns of the class tables: a label, the stacked bar, then five figures.
    static let labelColumns = 14
    static let figureColumns = 7

    var hasClasses: Bool { stats.classesTotal.total > 0 || stats.classesLastFrame.total > 0 }
    var hasPipeline: Bool { !stats.queueDepths.isEmpty || !stats.workerBusy.isEmpty || stats.stageSeconds.total > 0 }
    var hasMap: Bool { stats.tileColumns > 0 && stats.tileRows > 0 && stats.lastFrameMap.count >= stats.tileColumns * stats.tileRows }
    var started: Bool { !stats.input.isEmpty }

    // MARK: - Header

    /// "input -> output", shortened in the middle of each name to fit `columns`.
    func names(columns: Int) -> String {
        guard started else { return notes.status ?? "starting" }
        let arrow = " \(glyphs.arrow) "
        let room = max(2, columns - TextWidth.of(arrow))
        let inW = TextWidth.of(stats.input), outW = TextWidth.of(stats.output)
        var inCols = min(inW, room / 2), outCols = min(outW, room - inCols)
        inCols = min(inW, room - outCols)
        outCols = min(outW, room - inCols)
        return TextWidth.fit(stats.input, columns: inCols, ellipsis: glyphs.ellipsis) + arrow
            + TextWidth.fit(stats.output, columns: outCols, ellipsis: glyphs.ellipsis)
    }

    /// "job 2/5 · 1 failed  PAUSED".
    var headerTags: Line {
        var l = Line()
        if stats.jobCount > 1 { l.append("job \(stats.jobIndex)/\(stats.jobCount)", .accent) }
        if notes.filesFailed > 0 { l.append("\(l.width > 0 ? " " : "")\(notes.filesFailed) failed", .bad) }
        if stats.stopping { l.append("\(l.width > 0 ? "  " : "")STOPPING", .bad) }
        else if stats.paused { l.append("\(l.width > 0 ? "  " : "")PAUSED", .warning) }
        return l
    }

    func title() -> Line {
        var left = Line(" upres ", .title)
        left.append(" ")
        let tags = headerTags
        left.append(names(columns: width - 8 - tags.width - 2), .bold)
        return Line.spread(left, tags, columns: width)
    }

    /// "640x360 -> 1280x720 (x2) · upres-x2 bf16 · 2 threads".
    var setup: String {
        var parts: [String] = []
        if stats.inputWidth > 0 && stats.outputWidth > 0 {
            var s = "\(stats.inputWidth)x\(stats.inputHeight) \(glyphs.arrow) \(stats.outputWidth)x\(stats.outputHeight)"
            let sx = Double(stats.outputWidth) / Double(stats.inputWidth)
            let sy = stats.inputHeight > 0 ? Double(stats.outputHeight) / Double(stats.inputHeight) : sx
            if abs(sx - sy) < 0.02 {
                s += abs(sx - sx.rounded()) < 0.02 ? " (x\(Int(sx.rounded())))" : " (x\(Format.rate(sx)))"
            }
            parts.append(s)
        }
        if !stats.model.isEmpty {
            // A network's name already says its precision ("upres-x4 (bf16)").
            let precision = stats.model.contains("(\(stats.precision))") ? "" : stats.precision
            parts.append(([stats.model, precision].filter { !$0.isEmpty }).joined(separator: " "))
        }
        if stats.threads > 0 { parts.append("\(stats.threads) thread\(stats.threads == 1 ? "" : "s")") }
        return parts.joined(separator: " \(glyphs.separator) ")
    }

    // MARK: - Progress

    /// "1234/~5000 frames  24.7%" or "frame 1234 (total unknown)".
    var frameFigures: String {
        guard let total = stats.framesTotal, total > 0 else { return "frame \(stats.framesDone)" }
        return "\(stats.framesDone)/\(stats.framesTotalEstimated ? "~" : "")\(total)"
    }

    var percentText: String { stats.fractionDone.map(Format.percent) ?? "" }

    var etaText: String {
        if stats.paused { return "paused" }
        if let f = stats.fractionDone, f >= 1 { return "0:00" }
        return Format.clock(stats.eta)
    }

    /// A bar across `width` minus the figures after it (none when the total is unknown).
    func progressBar(indent: Int, figures: String) -> Line {
        var l = Line(String(repeating: " ", count: indent))
        if let f = stats.fractionDone {
            let barColumns = width - indent - TextWidth.of(figures) - 1
            if barColumns >= 4 {
                l.append(Bars.progress(f, columns: barColumns, glyphs: glyphs))
                l.append(" ")
            }
        }
        l.append(figures, .bold)
        return l
    }

    func progress() -> [Line] {
        guard started else { return [Line("  waiting for the first frame", .dim)] }
        let figures = stats.fractionDone != nil ? "\(frameFigures) frames  \(percentText)" : "\(frameFigures) (total unknown)"
        var second = Line("  elapsed ", .dim)
        second.append(Format.clock(stats.elapsed), .bold)
        second.append("   ETA ", .dim)
        second.append(etaText, .bold)
        if stats.framesTotalEstimated { second.append("   (total estimated from the duration)", .dim) }
        return [progressBar(indent: 2, figures: figures), second]
    }

    // MARK: - Throughput

    func throughput() -> [Line] {
        var l = Line("Throughput  ", .bold)
        func figure(_ label: String, _ value: String, _ unit: String) {
            l.append(label, .dim)
            l.append(value, .bold)
            l.append(unit + "   ", .dim)
        }
        figure("now ", Format.rate(stats.fps), " fps")
        figure("avg ", Format.rate(stats.averageFps), " fps")
        if stats.inputMegapixelsPerSecond > 0 { figure("in ", Format.rate(stats.inputMegapixelsPerSecond), " Mpx/s") }
        if stats.outputMegapixelsPerSecond > 0 { figure("out ", Format.rate(stats.outputMegapixelsPerSecond), " Mpx/s") }
        if stats.tilesPerSecond > 0 { figure("", Format.rate(stats.tilesPerSecond), " tiles/s") }
        return [l, sparkline(label: "  last minute ")]
    }

    func sparkline(label: String) -> Line {
        var l = Line(label, .dim)
        let known = history.compactMap { $0 }
        guard !known.isEmpty else {
            l.append("(collecting)", .dim)
            return l
        }
        let peak = " peak \(Format.rate(known.max() ?? 0)) fps"
        let columns = min(history.count, width - l.width - TextWidth.of(peak))
        if columns >= 8 { l.append(Sparkline.render(history, columns: columns, glyphs: glyphs), .accent) }
        l.append(peak, .dim)
        return l
    }

    // MARK: - Tiles

    var classBarColumns: Int { max(6, width - Self.labelColumns - 5 * Self.figureColumns - 2) }

    func figures(_ values: [String], styles: [Style]? = nil) -> Line {
        var l = Line()
        for (i, v) in values.enumerated() {
            let s = TextWidth.prefix(v, columns: Self.figureColumns - 1)
            l.append(String(repeating: " ", count: Self.figureColumns - TextWidth.of(s)) + s, styles?[i] ?? .normal)
        }
        return l
    }

    func classRow(_ label: String, _ counts: ClassCounts) -> Line {
        var l = Line(label.padding(toLength: Self.labelColumns, withPad: " ", startingAt: 0), .dim)
        l.append(Bars.classes(counts, columns: classBarColumns, glyphs: glyphs, colour: colour))
        l.append(" ")
        l.append(figures(TileClass.allCases.map { counts.total > 0 ? Format.percent(counts.fraction($0)) : "-" }))
        return l
    }

    func tiles() -> [Line] {
        guard hasClasses else { return [Line("Tiles       no tile classes reported by this upscaler", .dim)] }
        var head = Line("Tiles", .bold)
        var info = ""
        if stats.tileSize > 0 { info += "  \(stats.tileSize) px" }
        if stats.tileColumns > 0 { info += ", \(stats.tileColumns)x\(stats.tileRows) a frame" }
        head.append(info, .dim)
        head = head.truncated(to: Self.labelColumns + classBarColumns + 1).padded(to: Self.labelColumns + classBarColumns + 1)
        head.append(figures(TileClass.allCases.map(\.name), styles: TileClass.allCases.map { .tile($0) }))
        var lines = [head, classRow("  this frame", stats.classesLastFrame), classRow("  all frames", stats.classesTotal)]
        var counts = Line("  tiles".padding(toLength: Self.labelColumns, withPad: " ", startingAt: 0), .dim)
        counts.append(TextWidth.prefix("\(Format.count(stats.classesTotal.total)) in \(stats.framesDone) frames",
                                       columns: classBarColumns).padding(toLength: classBarColumns + 1, withPad: " ", startingAt: 0), .dim)
        counts.append(figures(TileClass.allCases.map { Format.count(stats.classesTotal[$0]) }))
        lines.append(counts)
        if stats.multiplyAddsAllHard > 0 {
            let share = stats.multiplyAdds / stats.multiplyAddsAllHard
            var l = Line("  work        ", .dim)
            l.append(Format.percent(share), .bold)
            l.append(" of the multiply-adds of running every tile through the hard branch", .dim)
            lines.append(l)
        }
        return lines
    }

    /// The last frame's tiles by class, at most `rows` lines including the title.
    func tileMap(rows: Int) -> [Line] {
        guard hasMap, rows >= 2 else { return [] }
        var title = Line("  last frame, \(stats.tileColumns)x\(stats.tileRows) tiles", .dim)
        if !colour {
            for c in TileClass.allCases {
                title.append("  ")
                title.append(glyphs.shade(c), .tile(c))
                title.append(" \(c.name)", .dim)
            }
        }
        let cells = Bars.tileMap(stats.lastFrameMap, columns: stats.tileColumns, rows: stats.tileRows,
                                 maxColumns: width - 4, maxRows: rows - 1, glyphs: glyphs, colour: colour)
        return [title] + cells.map { var l = Line("    "); l.append($0); return l }
    }

    // MARK: - Pipeline

    /// Queues in pipeline order, then any others by name.
    var queueNames: [String] {
        let order = ["decode", "decoded", "frames", "classify", "classified", "tiles", "sr", "stitch", "encode"]
        return stats.queueDepths.keys.sorted { a, b in
            let ia = order.firstIndex(of: a) ?? order.count, ib = order.firstIndex(of: b) ?? order.count
            return ia != ib ? ia < ib : a < b
        }
    }

    var stageShares: [(String, Double)] {
        let t = stats.stageSeconds
        guard t.total > 0 else { return [] }
        return [("decode", t.decode), ("classify", t.classify), ("SR", t.sr), ("stitch", t.stitch), ("encode", t.encode)]
            .filter { $0.1 > 0 }.map { ($0.0, $0.1 / t.total) }
    }

    func pipeline() -> [Line] {
        guard hasPipeline else { return [Line("Pipeline    no queue or stage statistics reported", .dim)] }
        var lines: [Line] = []
        let label = "Pipeline    "
        func row(_ name: String) -> Line {
            var l = Line(lines.isEmpty ? label : String(repeating: " ", count: label.count), .bold)
            l.append(name.padding(toLength: 9, withPad: " ", startingAt: 0), .dim)
            return l
        }
        if !stats.queueDepths.isEmpty {
            var l = row("queues")
            for q in queueNames {
                let cap = stats.queueCapacities[q].map { "/\($0)" } ?? ""
                let full = stats.queueCapacities[q].map { $0 > 0 && stats.queueDepths[q]! >= $0 } ?? false
                l.append(q + " ", .dim)
                l.append("\(stats.queueDepths[q]!)\(cap)", full ? .warning : .bold)
                l.append("  ")
            }
            lines.append(l)
        }
        if !stats.workerBusy.isEmpty {
            var l = row("workers")
            for (i, busy) in stats.workerBusy.enumerated() {
                let cell = Line("#\(i + 1) ", .dim).width + 4 + 5
                if l.width + cell > width {
                    l.append("+\(stats.workerBusy.count - i)", .dim)
                    break
                }
                l.append("#\(i + 1) ", .dim)
                l.append(Bars.progress(busy, columns: 4, glyphs: glyphs))
                l.append(String(format: "%4.0f%% ", max(0, min(1, busy)) * 100), .bold)
            }
            lines.append(l)
        }
        if !stageShares.isEmpty {
            var l = row("time")
            for (name, share) in stageShares {
                l.append(name + " ", .dim)
                l.append(Format.percent(share), .bold)
                l.append("  ")
            }
            lines.append(l)
        }
        return lines
    }

    // MARK: - Output, messages, keys

    func output() -> Line {
        var l = Line("Output      ", .bold)
        l.append(Format.bytes(stats.bytesWritten), .bold)
        l.append(" written", .dim)
        if let b = stats.bitrate {
            l.append("   ", .dim)
            l.append(Format.bitrate(b), .bold)
        }
        if let e = stats.estimatedFinalBytes {
            l.append("   final size about ", .dim)
            l.append(Format.bytes(e), .bold)
        }
        return l
    }

    func messages(_ count: Int) -> [Line] {
        notes.messages.suffix(count).map { m in
            Line(TextWidth.sanitized(m), m.contains("error:") ? .bad : m.contains("warning:") ? .warning : .dim)
        }
    }

    func keys() -> Line {
        var l = Line()
        var keys = [("q", "stop"), ("p", stats.paused ? "resume" : "pause"), ("v", "picture")]
        if notes.picture == "picture" { keys.append(("m", "classes")) }
        for (key, what) in keys + [("?", "help")] {
            l.append(" \(key)", .key)
            l.append(" \(what) ", .dim)
        }
        var state = Line()
        if stats.stopping { state = Line("stopping after the frames in flight; Ctrl-C again stops now ", .bad) }
        else if stats.paused { state = Line("paused ", .warning) }
        else if let why = notes.picture, why != "picture" { state = Line(why + " ", .warning) }
        return Line.spread(l, state, columns: width)
    }
}
