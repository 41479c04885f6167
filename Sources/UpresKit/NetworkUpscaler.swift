import Foundation
import CFFmpeg
import UpresEngine
import UpresMedia

/// Upscales with an SR network: luma models run on the Y plane (no colour conversion; chroma is
/// scaled classically at its stated siting), RGB models on RGB frames. The network runs at its own
/// scale; a different target size is reached with a Lanczos resize of the network's output.
public final class NetworkUpscaler: Upscaler {
    public let name: String
    public let input: VideoFormat
    public let output: VideoFormat
    public let model: Model
    public let precision: Precision
    private let session: Session
    private let chroma: FrameScaler          // whole frame, classical: gives chroma (and a luma we overwrite)
    private let networkFormat: VideoFormat   // size the network produces
    private let resize: FrameScaler?         // network size -> requested size, when they differ
    private let maxValue: Float
    private let bytesPerSample: Int

    public init(model: Model, precision: Precision, input: VideoFormat, output: VideoFormat, threads: Int) throws {
        precondition(input.pixelFormat == output.pixelFormat, "an upscaler keeps the pixel format")
        self.model = model
        self.precision = precision
        self.input = input
        self.output = output
        let info = model.info
        name = "\(info.name) (\(precision.rawValue))"
        let isRGB = PixelFormat.isRGB(input.pixelFormat)
        guard info.inChannels == 1 && !isRGB else {
            throw MediaInputError(info.inChannels == 1
                ? "the luma model \(info.name) needs a YUV or grey source, not \(PixelFormat.name(input.pixelFormat))"
                : "RGB models are not wired into the video path yet; use a luma (1-channel) model")
        }
        let depth = PixelFormat.bitDepth(input.pixelFormat)
        guard depth <= 16 else { throw MediaInputError("unsupported bit depth \(depth)") }
        maxValue = Float((1 << depth) - 1)
        bytesPerSample = depth > 8 ? 2 : 1
        networkFormat = input.resized(width: input.width * Int32(info.scale), height: input.height * Int32(info.scale))
        session = try Session(model: model, input: .init(1, 1, Int(input.height), Int(input.width)),
                              precision: precision, threads: threads)
        chroma = try FrameScaler(from: input, to: output, filter: .lanczos, threads: Int32(threads))
        resize = networkFormat.width == output.width && networkFormat.height == output.height ? nil
            : try FrameScaler(from: networkFormat, to: output, filter: .lanczos, threads: Int32(threads))
    }

    public func upscale(_ frame: Frame) throws -> Frame {
        // Chroma (and a provisional luma) the classical way.
        let out = try Frame(width: output.width, height: output.height, format: output.pixelFormat)
        try chroma.scale(frame, into: out)
        try out.copyProperties(from: frame)
        out.pointer.pointee.sample_aspect_ratio = output.sampleAspectRatio

        // Luma through the network.
        let w = Int(input.width), h = Int(input.height)
        let dst = session.inputPointer
        readPlane(frame, width: w, height: h, into: dst)
        try session.execute()
        let ow = session.outputShape.w, oh = session.outputShape.h
        if let resize {
            let big = try Frame(width: networkFormat.width, height: networkFormat.height, format: output.pixelFormat)
            writePlane(session.outputPointer, width: ow, height: oh, into: big)
            // Only the luma of `big` is meaningful; take it from the resized frame.
            let resized = try Frame(width: output.width, height: output.height, format: output.pixelFormat)
            try resize.scale(big, into: resized)
            copyLuma(from: resized, to: out)
        } else {
            writePlane(session.outputPointer, width: ow, height: oh, into: out)
        }
        return out
    }

    private func readPlane(_ f: Frame, width: Int, height: Int, into dst: UnsafeMutablePointer<Float>) {
        let base = f.data(plane: 0)!, stride = f.lineSize(plane: 0)
        let scale = 1 / maxValue
        for y in 0..<height {
            let row = base + y * stride
            let out = dst + y * width
            if bytesPerSample == 1 {
                for x in 0..<width { out[x] = Float(row[x]) * scale }
            } else {
                let r16 = UnsafeRawPointer(row).assumingMemoryBound(to: UInt16.self)
                for x in 0..<width { out[x] = Float(UInt16(littleEndian: r16[x])) * scale }
            }
        }
    }

    private func writePlane(_ src: UnsafePointer<Float>, width: Int, height: Int, into f: Frame) {
        let base = f.data(plane: 0)!, stride = f.lineSize(plane: 0)
        let m = maxValue
        for y in 0..<height {
            let row = base + y * stride
            let s = src + y * width
            if bytesPerSample == 1 {
                for x in 0..<width { row[x] = UInt8(min(max(s[x] * m + 0.5, 0), m)) }
            } else {
                let r16 = UnsafeMutableRawPointer(row).assumingMemoryBound(to: UInt16.self)
                for x in 0..<width { r16[x] = UInt16(min(max(s[x] * m + 0.5, 0), m)).littleEndian }
            }
        }
    }

    private func copyLuma(from a: Frame, to b: Frame) {
        let rowBytes = Int(b.width) * bytesPerSample
        for y in 0..<Int(b.height) {
            (b.data(plane: 0)! + y * b.lineSize(plane: 0)).update(from: a.data(plane: 0)! + y * a.lineSize(plane: 0), count: rowBytes)
        }
    }
}

public struct NetworkUpscalerFactory: UpscalerFactory {
    public let model: Model
    public let precision: Precision
    public let threads: Int
    public init(model: Model, precision: Precision, threads: Int) {
        self.model = model
        self.precision = precision
        self.threads = threads
    }
    public var name: String { "\(model.info.name) (\(precision.rawValue))" }
    public func makeUpscaler(input: VideoFormat, output: VideoFormat) throws -> any Upscaler {
        try NetworkUpscaler(model: model, precision: precision, input: input, output: output, threads: threads)
    }
}
