import Foundation
import CFFmpeg

/// A line of text to put on a picture. `x`, `y` place its anchor: the left edge, centre or right
/// edge (`align`) and the top or the middle (`middle`) of the text.
public struct TextLabel: Sendable, Equatable {
    public enum Align: Sendable { case left, centre, right }
    public var text: String
    public var x: Int
    public var y: Int
    public var size: Int
    /// 0xRRGGBB.
    public var colour: UInt32
    public var align: Align
    public var middle: Bool

    public init(_ text: String, x: Int, y: Int, size: Int = 14, colour: UInt32 = 0x202020, align: Align = .left,
                middle: Bool = false) {
        self.text = text
        self.x = x
        self.y = y
        self.size = size
        self.colour = colour
        self.align = align
        self.middle = middle
    }
}

/// Puts text on RGB24 pictures with libavfilter's `drawtext` (FreeType), DejaVu Sans by default
/// (Debian's `fonts-dejavu-core`; fontconfig's "Sans" where that file is missing). Each call
/// runs a small graph: `buffer` -> one `drawtext` per label -> `buffersink`. Options are set as
/// values and text expansion is off, so any text is drawn as it is.
public final class TextLabeller {
    public static let defaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    /// The font file, or nil for fontconfig's "Sans".
    public let fontFile: String?

    public init(fontFile: String? = nil) {
        let file = fontFile ?? TextLabeller.defaultFont
        self.fontFile = FileManager.default.fileExists(atPath: file) ? file : nil
    }

    private func options(_ l: TextLabel) -> [String: String] {
        var x = "\(l.x)", y = "\(l.y)"
        switch l.align {
        case .left: break
        case .centre: x += "-tw/2"
        case .right: x += "-tw"
        }
        if l.middle { y += "-th/2" }
        var o = ["text": l.text, "expansion": "none", "fontsize": "\(l.size)",
                 "fontcolor": String(format: "0x%06X", l.colour & 0xFFFFFF), "x": x, "y": y]
        if let fontFile { o["fontfile"] = fontFile } else { o["font"] = "Sans" }
        return o
    }

    /// `frame` (RGB24) with the labels drawn on it, as a new frame.
    public func draw(_ labels: [TextLabel], on frame: Frame) throws -> Frame {
        guard frame.format == AV_PIX_FMT_RGB24 else {
            throw MediaInputError("internal: labels go on rgb24 pictures, not \(PixelFormat.name(frame.format))")
        }
        let shown = labels.filter { !$0.text.isEmpty }
        if shown.isEmpty { return frame }
        let g = FilterGraph(threads: 1)
        let format = VideoFormat(width: frame.width, height: frame.height, pixelFormat: AV_PIX_FMT_RGB24)
        let source = try g.addSource("picture", format: format, timeBase: AVRational(num: 1, den: 1))
        var last = source
        for l in shown {
            let text: FilterGraph.Node
            do { text = try g.add("drawtext", options(l)) } catch {
                throw MediaInputError("cannot draw text (\(error)); labels need a font: install fonts-dejavu-core "
                                      + "(\(TextLabeller.defaultFont))")
            }
            try g.link(last, text)
            last = text
        }
        let sink = try g.addSink("labelled")
        try g.link(last, sink)
        try g.configure()
        let pts = frame.pts
        frame.pts = 0
        defer { frame.pts = pts }
        try g.push(frame, into: source)
        try g.push(nil, into: source)
        let out = Frame()
        guard try g.pull(from: sink, into: out) == .frame else {
            throw MediaInputError("internal: drawtext returned no picture")
        }
        guard out.format == AV_PIX_FMT_RGB24, out.width == frame.width, out.height == frame.height else {
            throw MediaInputError("internal: drawtext changed the picture to \(out.width)x\(out.height) \(PixelFormat.name(out.format))")
        }
        return out
    }

    /// The width and height in pixels `text` takes at `size`, measured by drawing it.
    public func measure(_ text: String, size: Int) throws -> (width: Int, height: Int) {
        let w = Int32(max(16, size * (text.count + 2))), h = Int32(max(16, size * 2))
        let blank = try Frame(width: w, height: h, format: AV_PIX_FMT_RGB24)
        for y in 0..<Int(h) { memset(blank.data(plane: 0)! + y * blank.lineSize(plane: 0), 0, Int(w) * 3) }
        let drawn = try draw([TextLabel(text, x: 0, y: 0, size: size, colour: 0xFFFFFF)], on: blank)
        var maxX = -1, maxY = -1
        let base = drawn.data(plane: 0)!, stride = drawn.lineSize(plane: 0)
        for y in 0..<Int(h) {
            let row = base + y * stride
            for x in 0..<Int(w) where row[3 * x] > 40 {
                if x > maxX { maxX = x }
                maxY = y
            }
        }
        return (maxX + 1, maxY + 1)
    }
}
