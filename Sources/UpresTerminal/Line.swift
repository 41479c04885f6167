import UpresProgress

/// What a piece of dashboard text means. The renderer only says what things are; the curses
/// driver decides how that looks (colour pairs on colour terminals, bold/dim/plain otherwise).
public enum Style: Hashable, Sendable {
    case normal, bold, dim, title, key, accent, good, warning, bad
    /// The done and to-do parts of the progress bar.
    case barDone, barTodo
    /// A tile class's colour: ClassSR's masks use green / yellow / red for easy / medium / hard.
    case tile(TileClass)
}

/// A run of text in one style.
public struct Segment: Equatable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .normal) {
        self.text = text
        self.style = style
    }
}

/// One screen row: styled segments drawn left to right from column 0.
///
///     var l = Line("ETA ", .dim)
///     l.append("2:05", .bold)
///     l.width   // 8 columns
public struct Line: Equatable, Sendable, CustomStringConvertible {
    public private(set) var segments: [Segment] = []

    public init() {}
    public init(_ text: String, _ style: Style = .normal) { append(text, style) }

    public mutating func append(_ text: String, _ style: Style = .normal) {
        guard !text.isEmpty else { return }
        if let last = segments.last, last.style == style {
            segments[segments.count - 1].text += text
        } else {
            segments.append(Segment(text, style))
        }
    }

    public mutating func append(_ other: Line) {
        for s in other.segments { append(s.text, s.style) }
    }

    public var text: String { segments.map(\.text).joined() }
    public var description: String { text }
    /// Terminal columns the line takes.
    public var width: Int { segments.reduce(0) { $0 + TextWidth.of($1.text) } }

    /// The line cut to at most `columns` columns (styles kept).
    public func truncated(to columns: Int) -> Line {
        var out = Line()
        var left = max(0, columns)
        for s in segments {
            if left == 0 { break }
            let w = TextWidth.of(s.text)
            if w <= left {
                out.append(s.text, s.style)
                left -= w
            } else {
                out.append(TextWidth.prefix(s.text, columns: left), s.style)
                left = 0
            }
        }
        return out
    }

    /// Spaces added up to `columns` (never cut).
    public func padded(to columns: Int, _ style: Style = .normal) -> Line {
        var out = self
        out.append(String(repeating: " ", count: max(0, columns - width)), style)
        return out
    }

    /// `left`, then `right` flush with column `columns` (right wins when both do not fit).
    public static func spread(_ left: Line, _ right: Line, columns: Int) -> Line {
        let room = columns - right.width - 1
        if room < 1 { return right.truncated(to: columns) }
        var out = left.truncated(to: room).padded(to: columns - right.width)
        out.append(right)
        return out
    }
}

/// Column widths of text as a terminal shows it: East Asian wide characters take two
/// columns, combining marks none. (wcwidth would need the C locale set up; this is enough
/// for file names.)
public enum TextWidth {
    public static func of(_ s: String) -> Int { s.unicodeScalars.reduce(0) { $0 + of($1) } }

    public static func of(_ u: Unicode.Scalar) -> Int {
        let v = u.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if u.properties.isEmojiPresentation { return 2 }
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }

    /// The longest prefix of `s` that fits in `columns`.
    public static func prefix(_ s: String, columns: Int) -> String {
        var out = String.UnicodeScalarView()
        var used = 0
        for u in s.unicodeScalars {
            let w = of(u)
            if used + w > columns { break }
            out.append(u)
            used += w
        }
        return String(out)
    }

    /// The longest suffix of `s` that fits in `columns`.
    public static func suffix(_ s: String, columns: Int) -> String {
        var out: [Unicode.Scalar] = []
        var used = 0
        for u in s.unicodeScalars.reversed() {
            let w = of(u)
            if used + w > columns { break }
            out.append(u)
            used += w
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: out.reversed())
        return String(view)
    }

    /// `s` shortened in the middle with `ellipsis` to fit `columns`: the end of a path (the
    /// file name) says more than its start.
    public static func fit(_ s: String, columns: Int, ellipsis: String) -> String {
        let clean = sanitized(s)
        if of(clean) <= columns { return clean }
        let e = of(ellipsis)
        if columns <= e { return prefix(clean, columns: columns) }
        let tail = (columns - e) * 2 / 3
        return prefix(clean, columns: columns - e - tail) + ellipsis + suffix(clean, columns: tail)
    }

    /// Control characters (a newline in a file name, escape sequences) would move the cursor.
    public static func sanitized(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
