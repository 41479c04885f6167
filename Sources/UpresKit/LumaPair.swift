import Foundation
import CFFmpeg
import UpresEngine
import UpresMedia

/// An image as the networks see it: its BT.601 limited-range luma (8-bit, as the video path
/// feeds them), cropped to a multiple of the scale, and the same luma downscaled by the scale
/// with swscale's bicubic filter. For calibration and quality checks on still images.
public struct LumaPair {
    public let path: String
    /// Ground truth, 1 x 1 x H x W in [0, 1].
    public let high: Tensor
    /// Network input, 1 x 1 x H/scale x W/scale in [0, 1].
    public let low: Tensor

    public init(path: String, scale: Int) throws {
        self.path = path
        func fail(_ m: String) -> JobError { JobError(file: path, message: m) }
        let source = try FrameSource(path: path)
        guard let frame = try source.next() else { throw fail("has no picture") }
        let w = Int(frame.width) / scale * scale, h = Int(frame.height) / scale * scale
        guard w >= 8 * scale, h >= 8 * scale else { throw fail("is too small (\(frame.width)x\(frame.height)) for x\(scale)") }
        let luma = ColourDescription(matrix: AVCOL_SPC_SMPTE170M, range: AVCOL_RANGE_MPEG)
        let sourceFormat = VideoFormat(width: frame.width, height: frame.height, pixelFormat: frame.format,
                                       colour: ColourDescription(frame: frame.pointer).filling(from: source.format.colour))
        let grey = VideoFormat(width: frame.width, height: frame.height, pixelFormat: AV_PIX_FMT_GRAY8, colour: luma)
        let full = try Frame(width: frame.width, height: frame.height, format: AV_PIX_FMT_GRAY8)
        try FrameScaler(from: sourceFormat, to: grey, filter: .point).scale(frame, into: full)
        // Crop (top-left) to a multiple of the scale, then downscale that.
        let cropped = try Frame(width: Int32(w), height: Int32(h), format: AV_PIX_FMT_GRAY8)
        for y in 0..<h {
            (cropped.data(plane: 0)! + y * cropped.lineSize(plane: 0))
                .update(from: full.data(plane: 0)! + y * full.lineSize(plane: 0), count: w)
        }
        let small = try Frame(width: Int32(w / scale), height: Int32(h / scale), format: AV_PIX_FMT_GRAY8)
        var croppedFormat = grey
        croppedFormat.width = Int32(w); croppedFormat.height = Int32(h)
        var smallFormat = grey
        smallFormat.width = Int32(w / scale); smallFormat.height = Int32(h / scale)
        try FrameScaler(from: croppedFormat, to: smallFormat, filter: .bicubic).scale(cropped, into: small)
        high = LumaPair.tensor(cropped)
        low = LumaPair.tensor(small)
    }

    static func tensor(_ f: Frame) -> Tensor {
        let w = Int(f.width), h = Int(f.height)
        var data = [Float](repeating: 0, count: w * h)
        let base = f.data(plane: 0)!, stride = f.lineSize(plane: 0)
        for y in 0..<h { for x in 0..<w { data[y * w + x] = Float(base[y * stride + x]) / 255 } }
        return Tensor(shape: .init(1, 1, h, w), data: data)
    }

    /// Y-PSNR (dB, 8-bit) of a network output against `high`: the output rounded to 8 bits as
    /// the video path writes it, `border` pixels left out on every side.
    public func psnr(_ output: Tensor, border: Int) -> Double {
        let w = high.shape.w, h = high.shape.h
        precondition(output.shape == high.shape, "output \(output.shape) for ground truth \(high.shape)")
        var sum = 0.0
        for y in border..<(h - border) {
            for x in border..<(w - border) {
                let o = (min(1, max(0, output.data[y * w + x])) * 255).rounded()
                let d = Double(o - (high.data[y * w + x] * 255).rounded())
                sum += d * d
            }
        }
        let mse = sum / Double((w - 2 * border) * (h - 2 * border))
        return 10 * log10(255 * 255 / max(mse, 1e-10))
    }
}
