import UpresProgress

/// What the dashboard shows besides the snapshot: what only the front end knows.
public struct DashboardNotes: Sendable, Equatable {
    /// Recent warnings and errors, newest last.
    public var messages: [String] = []
    public var showHelp = false
    public var filesFailed = 0
    /// Shown in the header until the first job has started ("opening clip.mp4").
    public var status: String? = nil
    /// The picture pane (`v`): "picture" while it is shown beside the dashboard, else why it
    /// cannot be (a message on the key line); nil when it is off.
    public var picture: String? = nil
    public init() {}
}

/// How much of the dashboard a terminal size allows.
public enum DashboardLayout: Sendable, Equatable {
    /// Every section, blank lines between them when there is room, the tile map.
    case full
    /// One line per topic.
    case compact
    /// Below 40x8: the few lines that matter, in order of importance.
    case minimal

    public static func choose(width: Int, height: Int) -> DashboardLayout {
        if width < 40 || height < 8 { return .minimal }
        if width < 80 || height < 22 { return .compact }
        return .full
    }
}

/// The dashboard as a pure function of a snapshot and a terminal size: no terminal, no
/// clock, no state. The curses driver draws the lines as they come.
///
///     let lines = DashboardRenderer.render(stats: s, history: h.rates(), width: 120, height: 40, colour: true)
///     // lines.count <= 40, every line.width <= 120
public enum DashboardRenderer {
    public static func render(stats: PipelineStats, history: [Double?], width: Int, height: Int, colour: Bool,
                              unicode: Bool = true, notes: DashboardNotes = DashboardNotes()) -> [Line] {
        guard width > 0, height > 0 else { return [] }
        let s = DashboardSections(stats: stats, history: history, width: width, colour: colour,
                                  glyphs: unicode ? .unicode : .ascii, notes: notes)
        let lines: [Line]
        if notes.showHelp {
            lines = help(s, height: height)
        } else {
            switch DashboardLayout.choose(width: width, height: height) {
            case .full: lines = full(s, height: height)
            case .compact: lines = compact(s, height: height)
            case .minimal: lines = minimal(s, height: height)
            }
        }
        // The sections are built to fit; this only guarantees it.
        return lines.prefix(height).map { $0.truncated(to: width) }
    }

    /// A section and how much it matters (0 first) when the height cannot take them all.
    struct Block {
        var lines: [Line]
        var priority: Int
    }

    /// The blocks that fit in `height`, most important first, shown in their given order.
    static func fit(_ blocks: [Block], height: Int) -> [Int] {
        var used = 0
        var chosen = Set<Int>()
        for i in blocks.indices.sorted(by: { blocks[$0].priority < blocks[$1].priority }) {
            let n = blocks[i].lines.count
            if n > 0 && used + n <= height {
                chosen.insert(i)
                used += n
            }
        }
        return chosen.sorted()
    }

    static func full(_ s: DashboardSections, height: Int) -> [Line] {
        var blocks = [
            Block(lines: [s.title(), Line("        " + s.setup, .dim)], priority: 0),
            Block(lines: s.progress(), priority: 0),
            Block(lines: s.throughput(), priority: 2),
            Block(lines: s.tiles(), priority: s.hasClasses ? 3 : 7),
            Block(lines: [], priority: 9),            // the tile map: filled with the rows left over
            Block(lines: s.pipeline(), priority: s.hasPipeline ? 4 : 8),
            Block(lines: [s.output()], priority: 1),
            Block(lines: s.messages(2), priority: 5),
        ]
        let mapIndex = 4
        let room = height - 1                            // the key line is pinned to the bottom
        var chosen = fit(blocks, height: room)
        var spare = room - chosen.reduce(0) { $0 + blocks[$1].lines.count }
        if chosen.contains(3) && s.hasClasses && s.hasMap && spare >= 4 {
            blocks[mapIndex].lines = s.tileMap(rows: min(spare - 1, 16))
            chosen = (chosen + [mapIndex]).sorted()
            spare -= blocks[mapIndex].lines.count
        }
        var lines: [Line] = []
        for (n, i) in chosen.enumerated() {
            // A blank line between sections while rows are left (none between the tiles and their map).
            if n > 0 && spare > 0 && i != mapIndex {
                lines.append(Line())
                spare -= 1
            }
            lines += blocks[i].lines
        }
        lines += Array(repeating: Line(), count: max(0, spare))
        lines.append(s.keys())
        return lines
    }

    static func compact(_ s: DashboardSections, height: Int) -> [Line] {
        var classLine = Line()
        if s.hasClasses {
            classLine = Line("tiles ", .dim)
            let c = s.stats.classesTotal.total > 0 ? s.stats.classesTotal : s.stats.classesLastFrame
            classLine.append(Bars.classes(c, columns: max(6, s.width / 4), glyphs: s.glyphs, colour: s.colour))
            for k in TileClass.allCases {
                classLine.append(" \(k.name.prefix(1))", .tile(k))
                classLine.append(String(format: "%.0f%%", c.fraction(k) * 100))
            }
        }
        var figures = Line(s.frameFigures, .bold)
        figures.append("  \(Format.rate(s.stats.fps)) fps  ETA ", .dim)
        figures.append(s.etaText, .bold)
        figures.append("  elapsed \(Format.clock(s.stats.elapsed))", .dim)
        var out = Line("out ", .dim)
        out.append(Format.bytes(s.stats.bytesWritten), .bold)
        if let b = s.stats.bitrate { out.append("  \(Format.bitrate(b))", .dim) }
        if let e = s.stats.estimatedFinalBytes { out.append("  final ~\(Format.bytes(e))", .dim) }
        var time = Line()
        if !s.stageShares.isEmpty {
            time = Line("time ", .dim)
            time.append(s.stageShares.map { "\($0.0) \(String(format: "%.0f%%", $0.1 * 100))" }.joined(separator: " "))
        }
        var names = Line(s.names(columns: s.width - s.headerTags.width - 1), .bold)
        names = Line.spread(names, s.headerTags, columns: s.width)
        let blocks = [
            Block(lines: [names], priority: 0),
            Block(lines: [s.started ? s.progressBar(indent: 0, figures: s.percentText) : Line("waiting for the first frame", .dim)],
                  priority: 0),
            Block(lines: s.started ? [figures] : [], priority: 0),
            Block(lines: s.hasClasses ? [classLine] : [], priority: 2),
            Block(lines: [s.sparkline(label: "fps ")], priority: 4),
            Block(lines: time.width > 0 ? [time] : [], priority: 5),
            Block(lines: [out], priority: 1),
            Block(lines: s.messages(1), priority: 3),
        ]
        let chosen = fit(blocks, height: height - 1)
        var lines = chosen.flatMap { blocks[$0].lines }
        lines += Array(repeating: Line(), count: max(0, height - 1 - lines.count))
        lines.append(s.keys())
        return lines
    }

    static func minimal(_ s: DashboardSections, height: Int) -> [Line] {
        var figures = Line(s.percentText.isEmpty ? "" : s.percentText + " ", .bold)
        figures.append(s.frameFigures)
        figures.append(" \(Format.rate(s.stats.fps))fps ETA \(s.etaText)", .dim)
        if s.stats.paused { figures = Line("PAUSED ", .warning); figures.append(s.frameFigures) }
        if s.stats.stopping { figures = Line("STOPPING ", .bad); figures.append(s.frameFigures) }
        var keys = Line("q", .key)
        keys.append(" stop ", .dim)
        keys.append("p", .key)
        keys.append(s.stats.paused ? " resume" : " pause", .dim)
        var classes = Line()
        if s.hasClasses {
            for k in TileClass.allCases {
                classes.append("\(k.name.prefix(1))", .tile(k))
                classes.append(String(format: "%.0f ", s.stats.classesTotal.fraction(k) * 100))
            }
        }
        let blocks = [
            Block(lines: [Line(s.names(columns: s.width), .bold)], priority: 3),
            Block(lines: s.stats.fractionDone != nil ? [Bars.progress(s.stats.fractionDone!, columns: s.width, glyphs: s.glyphs)] : [],
                  priority: 1),
            Block(lines: [figures], priority: 0),
            Block(lines: classes.width > 0 ? [classes] : [], priority: 4),
            Block(lines: [Line("out \(Format.bytes(s.stats.bytesWritten))", .dim)], priority: 5),
            Block(lines: [keys], priority: 2),
        ]
        return fit(blocks, height: height).flatMap { blocks[$0].lines }
    }

    static func help(_ s: DashboardSections, height: Int) -> [Line] {
        var lines = [Line(" upres dashboard ", .title), Line()]
        for (key, what) in [("q", "stop: finish the frames in flight, write a playable file, exit 130"),
                            ("Ctrl-C", "the same; a second Ctrl-C (or q) stops at once"),
                            ("p", "pause or resume"),
                            ("v", "show or hide the picture: the last finished output frame"),
                            ("m", "tile classes over the picture (colours as below)"),
                            ("?", "show or hide this help")] {
            var l = Line("  " + key.padding(toLength: 8, withPad: " ", startingAt: 0), .key)
            l.append(what)
            lines.append(l)
        }
        lines.append(Line())
        lines.append(Line("  Tile classes (how each tile of a frame is restored):", .bold))
        let meaning: [TileClass: String] = [
            .static: "unchanged since the previous frame: its output is reused",
            .flat: "smooth content: the classical (Lanczos) result is kept",
            .easy: "the model's small branch", .medium: "the model's middle branch", .hard: "the model's full branch",
        ]
        for c in TileClass.allCases {
            var l = Line("    ")
            l.append(s.colour ? s.glyphs.solid + s.glyphs.solid : s.glyphs.shade(c) + s.glyphs.shade(c), .tile(c))
            l.append(" " + c.name.padding(toLength: 8, withPad: " ", startingAt: 0), .tile(c))
            l.append(meaning[c] ?? "", .dim)
            lines.append(l)
        }
        lines.append(Line())
        lines.append(Line("  Press any key to return.", .dim))
        return Array(lines.prefix(height))
    }
}
