import Foundation
import UpresMedia

/// An RGB colour, written 0xRRGGBB.
public struct RGB: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8
    public init(_ hex: UInt32) {
        r = UInt8((hex >> 16) & 0xFF)
        g = UInt8((hex >> 8) & 0xFF)
        b = UInt8(hex & 0xFF)
    }
    public init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    public var hex: UInt32 { UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }
}

/// An RGB24 picture to draw on: filled and blended rectangles, outlines, thick lines, and
/// pictures copied in (with an integer pixel zoom). Text goes on with `TextLabeller`.
public final class Canvas {
    public private(set) var frame: Frame
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int, background: RGB) throws {
        self.width = width
        self.height = height
        frame = try Frame(width: Int32(width), height: Int32(height), format: PixelFormat.rgb24)
        fill(x: 0, y: 0, w: width, h: height, background)
    }

    private var base: UnsafeMutablePointer<UInt8> { frame.data(plane: 0)! }
    private var stride: Int { frame.lineSize(plane: 0) }

    public func pixel(_ x: Int, _ y: Int) -> RGB {
        let p = base + y * stride + 3 * x
        return RGB(r: p[0], g: p[1], b: p[2])
    }

    /// The rectangle clipped to the canvas, or nil when nothing of it is inside.
    private func clip(_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> (Int, Int, Int, Int)? {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        return x1 > x0 && y1 > y0 ? (x0, y0, x1, y1) : nil
    }

    public func fill(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        guard let (x0, y0, x1, y1) = clip(x, y, w, h) else { return }
        for j in y0..<y1 {
            let row = base + j * stride
            for i in x0..<x1 {
                row[3 * i] = c.r
                row[3 * i + 1] = c.g
                row[3 * i + 2] = c.b
            }
        }
    }

    /// Mixes `c` into the rectangle with opacity `alpha` (0 to 1).
    public func blend(x: Int, y: Int, w: Int, h: Int, _ c: RGB, alpha: Double) {
        guard let (x0, y0, x1, y1) = clip(x, y, w, h) else { return }
        let a = Int((alpha * 256).rounded()), keep = 256 - a
        for j in y0..<y1 {
            let row = base + j * stride
            for i in x0..<x1 {
                row[3 * i] = UInt8((Int(row[3 * i]) * keep + Int(c.r) * a) >> 8)
                row[3 * i + 1] = UInt8((Int(row[3 * i + 1]) * keep + Int(c.g) * a) >> 8)
                row[3 * i + 2] = UInt8((Int(row[3 * i + 2]) * keep + Int(c.b) * a) >> 8)
            }
        }
    }

    /// A rectangle's outline, `thickness` pixels inside its edge.
    public func outline(x: Int, y: Int, w: Int, h: Int, _ c: RGB, thickness: Int = 1) {
        let t = min(thickness, w, h)
        fill(x: x, y: y, w: w, h: t, c)
        fill(x: x, y: y + h - t, w: w, h: t, c)
        fill(x: x, y: y, w: t, h: h, c)
        fill(x: x + w - t, y: y, w: t, h: h, c)
    }

    /// A line `width` pixels thick from (x0, y0) to (x1, y1).
    public func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ c: RGB, width: Int = 1) {
        let steps = max(1, Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up)))
        let half = width / 2
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            let x = Int((x0 + (x1 - x0) * t).rounded()), y = Int((y0 + (y1 - y0) * t).rounded())
            fill(x: x - half, y: y - half, w: width, h: width, c)
        }
    }

    /// Copies the region (`sx`, `sy`, `sw`, `sh`) of an RGB24 picture to (`dx`, `dy`), each
    /// source pixel drawn as a `zoom` x `zoom` block.
    public func draw(_ picture: Frame, sx: Int = 0, sy: Int = 0, sw: Int? = nil, sh: Int? = nil,
                     dx: Int, dy: Int, zoom: Int = 1) {
        precondition(picture.format == PixelFormat.rgb24 && zoom >= 1)
        let w = min(sw ?? Int(picture.width), Int(picture.width) - sx), h = min(sh ?? Int(picture.height), Int(picture.height) - sy)
        guard w > 0, h > 0 else { return }
        let src = picture.data(plane: 0)!, srcStride = picture.lineSize(plane: 0)
        for j in 0..<(h * zoom) {
            let y = dy + j
            guard y >= 0 && y < height else { continue }
            let from = src + (sy + j / zoom) * srcStride
            let row = base + y * stride
            for i in 0..<(w * zoom) {
                let x = dx + i
                guard x >= 0 && x < width else { continue }
                let p = from + 3 * (sx + i / zoom)
                row[3 * x] = p[0]
                row[3 * x + 1] = p[1]
                row[3 * x + 2] = p[2]
            }
        }
    }

    /// Draws the labels with `labeller`; the canvas then holds the labelled picture.
    public func label(_ labels: [TextLabel], with labeller: TextLabeller) throws {
        frame = try labeller.draw(labels, on: frame)
        try frame.makeWritable()
    }
}
