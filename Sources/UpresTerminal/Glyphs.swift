import UpresProgress

/// The characters the dashboard draws with: block elements on UTF-8 terminals, ASCII
/// elsewhere (a C-locale terminal shows UTF-8 as garbage).
public struct Glyphs: Sendable {
    /// Progress bar: full cell, partial cells in eighths (index 1...7), the to-do part.
    public var barFull: String
    public var barEighths: [String]
    public var barTodo: String
    /// Sparkline levels, lowest first.
    public var spark: [String]
    /// One character per tile class when colour cannot tell them apart, from light to dense.
    public var tileShades: [String]
    /// A solid cell, coloured by class.
    public var solid: String
    public var ellipsis: String
    public var arrow: String
    public var separator: String

    public static let unicode = Glyphs(
        barFull: "█", barEighths: ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"], barTodo: "░",
        spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], tileShades: ["·", "░", "▒", "▓", "█"],
        solid: "█", ellipsis: "…", arrow: "→", separator: "│")

    public static let ascii = Glyphs(
        barFull: "#", barEighths: ["", "", "", "", "", "", "", ""], barTodo: ".",
        spark: ["_", ".", "-", "~", "=", "+", "*", "#"], tileShades: [".", "-", "+", "*", "#"],
        solid: "#", ellipsis: "...", arrow: "->", separator: "|")

    public func shade(_ c: TileClass) -> String { tileShades[c.rawValue] }
}
