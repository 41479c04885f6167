import Foundation
import CFFmpeg
import CMediaShims
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
    public let encoderCodec: UnsafePointer<AVCodec>
    public let muxer: UnsafePointer<AVOutputFormat>
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
        let st = input.stream(videoStream)
        let par = st.pointee.codecpar!
        if avcodec_find_decoder(par.pointee.codec_id) == nil {
            let name = MediaNames.codec(par.pointee.codec_id)
            throw fail("no decoder for video codec '\(name)' in this FFmpeg build")
        }
        // VP8/VP9 alpha is decoded by libvpx only; the stream parameters then understate the format.
        alphaDecoder = VideoDecoder.alphaDecoder(input: input, streamIndex: videoStream)
        var srcFormat = AVPixelFormat(rawValue: par.pointee.format)
        if alphaDecoder != nil && srcFormat == AV_PIX_FMT_YUV420P { srcFormat = AV_PIX_FMT_YUVA420P }
        guard par.pointee.width > 0, par.pointee.height > 0, srcFormat != AV_PIX_FMT_NONE else {
            throw fail("video stream #\(videoStream) has no decodable picture size or pixel format")
        }
        do { decodePlan = try DecodePlan(range: settings.range, deinterlace: settings.deinterlace, input: input, stream: videoStream) } catch { throw fail("\(error)") }
        sourceFormat = VideoFormat(width: par.pointee.width, height: par.pointee.height, pixelFormat: srcFormat,
                                   sampleAspectRatio: av_guess_sample_aspect_ratio(input.context, st, nil),
                                   colour: ColourDescription(parameters: par),
                                   fieldOrder: decodePlan.deinterlace != nil ? AV_FIELD_PROGRESSIVE : par.pointee.field_order)
        // A palette's transparency (and GIF's: its decoder always gives BGRA) is kept in image
        // outputs (RGBA) but neither picks a lossless video encoder nor warns: an animated GIF
        // into .mkv stays H.264.
        let sourceHasAlpha = WorkingFormat.hasAlpha(srcFormat) && !WorkingFormat.isPalette(srcFormat)
            && par.pointee.codec_id != AV_CODEC_ID_GIF

        // The output name and container.
        let out = settings.output ?? OutputNaming.defaultOutput(for: path, size: settings.size, range: settings.range)
        outputPath = out
        func failOut(_ message: String) -> JobError { JobError(file: out, message: message) }
        let ext = URL(fileURLWithPath: out).pathExtension
        let muxer: UnsafePointer<AVOutputFormat>
        do { muxer = try OutputContainer.muxer(for: out, format: settings.format) } catch { throw failOut("\(error)") }
        self.muxer = muxer
        let muxerName = String(cString: muxer.pointee.name)

        // The encoder and its pixel format.
        var codecName: String
        if let explicit = settings.encoder.codec {
            codecName = explicit
        } else {
            let choice = EncoderChoice.choose(muxer: muxer, fileExtension: ext, source: srcFormat,
                                              sourceCodec: par.pointee.codec_id, sourceHasAlpha: sourceHasAlpha)
            codecName = choice.codecName
            if let note = choice.note { warnings.append(note) }
        }
        guard let codec = EncoderCatalog.find(codecName) else {
            throw failOut("unknown video encoder '\(codecName)' (available: \(EncoderCatalog.knownAvailable.joined(separator: ", ")))")
        }
        encoderCodec = codec
        let query = avformat_query_codec(muxer, codec.pointee.id, FF_COMPLIANCE_NORMAL)
        if query == 0 {
            throw failOut("the \(muxerName) container cannot hold \(codecName) video")
        }
        var encodePixel: AVPixelFormat
        if let name = settings.encoder.pixelFormat {
            guard let f = PixelFormat.named(name) else { throw failOut("unknown pixel format '\(name)'") }
            let supported = EncoderCatalog.pixelFormats(of: codec)
            if !supported.isEmpty && !supported.contains(f) {
                throw failOut("encoder \(codecName) does not take pixel format \(name) (it takes: "
                              + supported.map(PixelFormat.name).joined(separator: ", ") + ")")
            }
            encodePixel = f
        } else {
            // swscale writes no palette: a palette source is chosen for as the RGBA it decodes to.
            encodePixel = EncoderCatalog.bestPixelFormat(for: codec, source: WorkingFormat.isPalette(srcFormat)
                                                         ? AV_PIX_FMT_RGBA : srcFormat)
        }
        if sourceHasAlpha && !WorkingFormat.hasAlpha(encodePixel) {
            warnings.append("the source's alpha plane (transparency) is dropped: \(codecName) in \(muxerName) "
                            + "output (\(PixelFormat.name(encodePixel))) cannot hold it; .png, .mkv, .mov or .webm "
                            + "outputs keep it")
        }
        do {
            encodePixel = try OutputContainer.check(codec: codec, pixelFormat: encodePixel, muxer: muxerName,
                                                    explicitPixelFormat: settings.encoder.pixelFormat != nil)
        } catch { throw failOut("\(error)") }

        // Sizes. The upscaler works in the source pixel format.
        let size = settings.size.outputSize(width: sourceFormat.width, height: sourceFormat.height)
        guard size.width >= 1, size.height >= 1, size.width <= 16384, size.height <= 16384 else {
            throw fail("output size \(size.width)x\(size.height) is out of range (1 to 16384 pixels a side)")
        }
        var enc = sourceFormat.resized(width: size.width, height: size.height)
        enc.pixelFormat = encodePixel
        if PixelFormat.isFullRangeJPEG(encodePixel) { enc.colour.range = AVCOL_RANGE_JPEG }
        if PixelFormat.isRGB(encodePixel) && !PixelFormat.isRGB(srcFormat) {
            enc.colour.matrix = AVCOL_SPC_RGB
            enc.colour.range = AVCOL_RANGE_JPEG
        } else if !PixelFormat.isRGB(encodePixel) && PixelFormat.isRGB(srcFormat) {
            // RGB -> YUV: state the matrix and range used, so players decode it back the same way.
            enc.colour.matrix = enc.colour.effectiveMatrix(height: enc.height)
            enc.colour.range = PixelFormat.isFullRangeJPEG(encodePixel) ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        }
        // H.264/HEVC/AV1 need even sizes for subsampled chroma: crop the last column/row.
        let shift = PixelFormat.chromaShift(encodePixel)
        let id = codec.pointee.id
        if id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_AV1 {
            let w = enc.width & ~Int32((1 << shift.x) - 1)
            let h = enc.height & ~Int32((1 << shift.y) - 1)
            if w != enc.width || h != enc.height {
                warnings.append("\(codecName) needs even dimensions for \(PixelFormat.name(encodePixel)): "
                                + "cropping \(enc.width)x\(enc.height) to \(w)x\(h)")
                enc.width = w
                enc.height = h
            }
        }
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
