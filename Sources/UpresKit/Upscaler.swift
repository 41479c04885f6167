import UpresMedia

/// A stage that turns each decoded frame into a larger one.
///
/// An upscaler is configured once for a stream (`UpscalerFactory.makeUpscaler`), then
/// called for every frame in display order. It returns a new frame of `output` size in
/// the input's pixel format, carrying the source frame's properties (timestamps,
/// colour tags, side data). The classical scalers here are the first implementations;
/// the SR network stage plugs in through the same two protocols.
///
///     let upscaler = try ClassicalUpscalerFactory(filter: .lanczos)
///         .makeUpscaler(input: format, output: format.resized(width: 1280, height: 720))
///     let big = try upscaler.upscale(frame)
public protocol Upscaler: AnyObject {
    /// Shown in progress output and logs (`lanczos`, `bicubic`, a model name).
    var name: String { get }
    var input: VideoFormat { get }
    var output: VideoFormat { get }
    func upscale(_ frame: Frame) throws -> Frame
}

/// Makes the frame path for one stream's geometry: a whole-frame `Upscaler`, or a
/// `FramePipeline` (the tile pipeline of a network).
public protocol UpscalerFactory: Sendable {
    var name: String { get }
    /// Everything about the upscaler that changes its output (a resumed job checks it).
    var identity: String { get }
    /// The arithmetic a network runs in (`fp32`, `bf16`, `int8`); empty for classical scalers.
    var precision: String { get }
    func makeUpscaler(input: VideoFormat, output: VideoFormat) throws -> any Upscaler
    func makePipeline(input: VideoFormat, output: VideoFormat) throws -> any FramePipeline
    /// The format frames are given to this upscaler in, for a `source` stream encoded as
    /// `encode`: the source's own where it can, else a working format (`WorkingFormat`).
    func workingFormat(source: VideoFormat, encode: VideoFormat) -> VideoFormat
}

extension UpscalerFactory {
    public var identity: String { name }
    public var precision: String { "" }

    /// Classical scalers run in the source format, unless swscale cannot write it (palettes).
    public func workingFormat(source: VideoFormat, encode: VideoFormat) -> VideoFormat {
        if PixelFormat.isScalerOutput(source.pixelFormat) { return source }
        return WorkingFormat.plan(source: source, encode: encode, rgbModel: false)
    }

    public func makePipeline(input: VideoFormat, output: VideoFormat) throws -> any FramePipeline {
        SynchronousPipeline(try makeUpscaler(input: input, output: output))
    }
}

/// Resizes whole frames with swscale (Lanczos or bicubic), chroma at its stated siting.
public final class ClassicalUpscaler: Upscaler {
    public let name: String
    public let input: VideoFormat
    public let output: VideoFormat
    private let scaler: FrameScaler

    public init(filter: ScaleFilter, input: VideoFormat, output: VideoFormat, threads: Int32 = 0) throws {
        precondition(input.pixelFormat == output.pixelFormat, "an upscaler keeps the pixel format")
        name = filter.rawValue
        self.input = input
        self.output = output
        scaler = try FrameScaler(from: input, to: output, filter: filter, threads: threads)
    }

    public func upscale(_ frame: Frame) throws -> Frame {
        let out = try Frame(width: output.width, height: output.height, format: output.pixelFormat)
        try scaler.scale(frame, into: out)
        try out.copyProperties(from: frame)
        out.sampleAspectRatio = output.sampleAspectRatio
        return out
    }
}

public struct ClassicalUpscalerFactory: UpscalerFactory {
    public let filter: ScaleFilter
    public let threads: Int32
    public init(filter: ScaleFilter, threads: Int32 = 0) {
        self.filter = filter
        self.threads = threads
    }
    public var name: String { filter.rawValue }
    public func makeUpscaler(input: VideoFormat, output: VideoFormat) throws -> any Upscaler {
        try ClassicalUpscaler(filter: filter, input: input, output: output, threads: threads)
    }
}
