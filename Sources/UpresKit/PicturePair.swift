import Foundation
import UpresEngine
import UpresMedia

/// An image as a network sees it, and its ground truth: for luma networks the BT.601
/// limited-range luma (8-bit, as the video path feeds them), for RGB networks full-range 8-bit
/// RGB; cropped to a multiple of the scale, and the same downscaled by the scale with swscale's
/// bicubic filter. For calibration and quality checks on still images.
public struct PicturePair {
    public let path: String
    /// Ground truth, 1 x C x H x W in [0, 1] (C = 1 or 3, planar R, G, B).
    public let high: Tensor
    /// Network input, 1 x C x H/scale x W/scale in [0, 1].
    public let low: Tensor

    init(path: String, high: Tensor, low: Tensor) {
        self.path = path
        self.high = high
        self.low = low
    }

    /// The centre of the pair, at most `side` x `side` input pixels (for quick checks).
    public func centre(side: Int) -> PicturePair {
        let s = high.shape.w / low.shape.w
        let w = min(side, low.shape.w), h = min(side, low.shape.h)
        let x0 = (low.shape.w - w) / 2, y0 = (low.shape.h - h) / 2
        func crop(_ t: Tensor, _ x: Int, _ y: Int, _ cw: Int, _ ch: Int) -> Tensor {
            var data: [Float] = []
            data.reserveCapacity(t.shape.c * cw * ch)
            for c in 0..<t.shape.c {
                for row in y..<(y + ch) {
                    let base = (c * t.shape.h + row) * t.shape.w + x
                    data.append(contentsOf: t.data[base..<(base + cw)])
                }
            }
            return Tensor(shape: .init(1, t.shape.c, ch, cw), data: data)
        }
        return PicturePair(path: path, high: crop(high, x0 * s, y0 * s, w * s, h * s), low: crop(low, x0, y0, w, h))
    }

    public init(path: String, scale: Int, channels: Int = 1) throws {
        precondition(channels == 1 || channels == 3, "1 or 3 channels")
        self.path = path
        func fail(_ m: String) -> JobError { JobError(file: path, message: m) }
        let source = try FrameSource(path: path)
        guard let frame = try source.next() else { throw fail("has no picture") }
        let w = Int(frame.width) / scale * scale, h = Int(frame.height) / scale * scale
        guard w >= 8 * scale, h >= 8 * scale else { throw fail("is too small (\(frame.width)x\(frame.height)) for x\(scale)") }
        let pixelFormat = channels == 1 ? PixelFormat.gray8 : PixelFormat.rgb24
        let colour = channels == 1 ? ColourDescription.limitedBT601 : ColourDescription.rgb
        let sourceFormat = VideoFormat(width: frame.width, height: frame.height, pixelFormat: frame.format,
                                       colour: frame.colour.filling(from: source.format.colour))
        let converted = VideoFormat(width: frame.width, height: frame.height, pixelFormat: pixelFormat, colour: colour)
        let full = try Frame(width: frame.width, height: frame.height, format: pixelFormat)
        try FrameScaler(from: sourceFormat, to: converted, filter: .point).scale(frame, into: full)
        // Crop (top-left) to a multiple of the scale, then downscale that.
        let cropped = try Frame(width: Int32(w), height: Int32(h), format: pixelFormat)
        for y in 0..<h {
            (cropped.data(plane: 0)! + y * cropped.lineSize(plane: 0))
                .update(from: full.data(plane: 0)! + y * full.lineSize(plane: 0), count: w * channels)
        }
        let small = try Frame(width: Int32(w / scale), height: Int32(h / scale), format: pixelFormat)
        var croppedFormat = converted
        croppedFormat.width = Int32(w); croppedFormat.height = Int32(h)
        var smallFormat = converted
        smallFormat.width = Int32(w / scale); smallFormat.height = Int32(h / scale)
        try FrameScaler(from: croppedFormat, to: smallFormat, filter: .bicubic).scale(cropped, into: small)
        high = PicturePair.tensor(cropped, channels: channels)
        low = PicturePair.tensor(small, channels: channels)
    }

    /// Packed 8-bit samples -> planar floats over 255.
    static func tensor(_ f: Frame, channels c: Int) -> Tensor {
        let w = Int(f.width), h = Int(f.height)
        var data = [Float](repeating: 0, count: c * w * h)
        let base = f.data(plane: 0)!, stride = f.lineSize(plane: 0)
        for y in 0..<h {
            for x in 0..<w {
                for k in 0..<c { data[(k * h + y) * w + x] = Float(base[y * stride + x * c + k]) / 255 }
            }
        }
        return Tensor(shape: .init(1, c, h, w), data: data)
    }

    /// Y-PSNR (dB, 8-bit) of a network output against `high`: the output rounded to 8 bits as
    /// the video path writes it, `border` pixels left out on every side. RGB is compared on its
    /// BT.601 luma (Y = 16 + 65.481 R + 128.553 G + 24.966 B, the usual SR benchmark convention).
    public func psnr(_ output: Tensor, border: Int) -> Double {
        let w = high.shape.w, h = high.shape.h, c = high.shape.c
        precondition(output.shape == high.shape, "output \(output.shape) for ground truth \(high.shape)")
        func eight(_ v: Float) -> Double { Double((min(1, max(0, v)) * 255).rounded()) }
        func luma(_ t: Tensor, _ i: Int, round: Bool) -> Double {
            let f = round ? eight : { Double(($0 * 255).rounded()) }
            if c == 1 { return f(t.data[i]) }
            let r = f(t.data[i]), g = f(t.data[w * h + i]), b = f(t.data[2 * w * h + i])
            return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
        }
        var sum = 0.0
        for y in border..<(h - border) {
            for x in border..<(w - border) {
                let d = luma(output, y * w + x, round: true) - luma(high, y * w + x, round: false)
                sum += d * d
            }
        }
        let mse = sum / Double((w - 2 * border) * (h - 2 * border))
        return 10 * log10(255 * 255 / max(mse, 1e-10))
    }
}
