import Foundation
import UpresMedia

/// The plan of one job, made before anything runs: the input opened and checked, its main video
/// stream and formats, the output's name, container, encoder, pixel format and size, the
/// working format of the upscaler, and the warnings about what the output cannot keep.
/// Creates no file (`UpscaleJob` runs it); tests build one in process.
public struct JobPlan {
    public let settings: JobSettings
    public let input: InputFile
    public let outputPath: String
    public let videoStream: Int
    public let sourceFormat: VideoFormat
    /// What the upscaler takes: the source's format, or the working format it is converted to.
    public let workingFormat: VideoFormat
    /// The upscaler's output (before any crop to the encoder's chroma grid).
    public let upscaledFormat: VideoFormat
    /// The decoder used instead of FFmpeg's default one (libvpx for VP8/VP9 with alpha).
    public let alphaDecoder: String?
    /// What the encoder receives.
    public let encodeFormat: VideoFormat
    /// The output's container, encoder and pixel format.
    public let encoding: EncoderSetup
    /// The part of the source and its deinterlacing (DecodePlan.swift).
    public let decodePlan: DecodePlan
    public private(set) var warnings: [String] = []

    /// Opens and checks the input and plans the output. Creates no file.
    public init(_ settings: JobSettings) throws {
        self.settings = settings
        let path = settings.input
        func fail(_ message: String) -> JobError { JobError(file: path, message: message) }

        // The input.
        var isDir: ObjCBool = false
        if !OutputNaming.isSequencePattern(path) && !StandardStream.isPipe(path) {
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw fail("no such file") }
            if isDir.boolValue { throw fail("is a directory, not a video file") }
            guard FileManager.default.isReadableFile(atPath: path) else { throw fail("permission denied") }
        }
        do {
            input = try InputFile(path: path)
            videoStream = try input.mainVideoStream()
        } catch let e as MediaInputError {
            throw fail(e.description)
        }
        // VP8/VP9 alpha is decoded by libvpx only; the stream parameters then understate the format.
        alphaDecoder = VideoDecoder.alphaDecoder(input: input, streamIndex: videoStream)
        let source: SourceVideo
        do { source = try SourceVideo(input: input, stream: videoStream, alphaDecoder: alphaDecoder) } catch { throw fail("\(error)") }
        do { decodePlan = try DecodePlan(range: settings.range, deinterlace: settings.deinterlace, input: input, stream: videoStream) } catch { throw fail("\(error)") }
        sourceFormat = decodePlan.deinterlace != nil ? source.format.progressive : source.format
        let srcFormat = sourceFormat.pixelFormat

        // The output name, container, encoder and its pixel format.
        let out = settings.output ?? OutputNaming.defaultOutput(for: path, size: settings.size, range: settings.range)
        outputPath = out
        var setup: EncoderSetup
        do {
            setup = try EncoderSetup(output: out, format: settings.format, codecName: settings.encoder.codec,
                                     pixelFormatName: settings.encoder.pixelFormat, source: source)
        } catch { throw JobError(file: out, message: "\(error)") }
        let encodePixel = setup.pixelFormat
        let codecName = setup.codecName

        // Sizes. The upscaler works in the source pixel format.
        let size = settings.size.outputSize(width: sourceFormat.width, height: sourceFormat.height)
        guard size.width >= 1, size.height >= 1, size.width <= 16384, size.height <= 16384 else {
            throw fail("output size \(size.width)x\(size.height) is out of range (1 to 16384 pixels a side)")
        }
        let enc = setup.encodeFormat(source: sourceFormat, width: size.width, height: size.height)
        encoding = setup
        warnings.append(contentsOf: setup.warnings)
        encodeFormat = enc
        // The upscaler runs in the source's format where it can, else in a 16-bit working format
        // (RGB, RGBA, palettes... for the networks; `WorkingFormat`).
        let working = settings.upscaler.workingFormat(source: sourceFormat, encode: enc)
        workingFormat = working
        upscaledFormat = working.resized(width: size.width, height: size.height)
        if PixelFormat.bitDepth(encodePixel) < PixelFormat.bitDepth(srcFormat) {
            warnings.append("\(codecName) output in \(PixelFormat.name(encodePixel)) has fewer bits than the "
                            + "\(PixelFormat.name(srcFormat)) source")
        }

        // Never write the input, never overwrite without being asked.
        try OutputGuard.check(input: path, output: out, overwrite: settings.overwrite)
    }
}
