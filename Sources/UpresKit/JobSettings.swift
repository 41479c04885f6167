import Foundation
import UpresMedia

/// Everything one upscaling run needs to know.
public struct JobSettings: Sendable {
    public var input: String
    /// nil = `OutputNaming.defaultOutput`. `-` (input or output): a pipe, `StandardStream`.
    public var output: String?
    /// The container by name (`-f`: nut, matroska...) instead of by the output's extension.
    public var format: String? = nil
    public var size: TargetSize
    public var upscaler: any UpscalerFactory
    public var encoder: EncoderSettings
    public var overwrite: Bool
    /// Decoder threads (0 = one per core).
    public var decoderThreads: Int32
    /// Video outputs are written in keyframe-aligned segments of at least this many seconds in
    /// a work folder beside the output, so an interrupted job resumes (`segmented`, default on).
    public var segmented: Bool = true
    public var segmentSeconds: Double = 10
    /// Discard a previous run's resumable state instead of refusing to mix with it.
    public var restart: Bool = false
    /// Where thumbnails of the output go (the dashboard's picture pane); nil = none made.
    public var preview: FramePreview? = nil
    /// Interlaced sources are deinterlaced (bwdif) before upscaling (`auto`: when tagged or detected).
    public var deinterlace: DeinterlaceMode = .auto
    /// Only this part of the input (nil = all of it); the output starts at 0.
    public var range: SourceRange? = nil

    public init(input: String, output: String? = nil, size: TargetSize = .scale(2),
                upscaler: any UpscalerFactory = ClassicalUpscalerFactory(filter: .lanczos),
                encoder: EncoderSettings = EncoderSettings(), overwrite: Bool = false, decoderThreads: Int32 = 0) {
        self.input = input
        self.output = output
        self.size = size
        self.upscaler = upscaler
        self.encoder = encoder
        self.overwrite = overwrite
        self.decoderThreads = decoderThreads
    }
}
