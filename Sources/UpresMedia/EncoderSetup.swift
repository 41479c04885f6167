import Foundation
import CFFmpeg

/// The output's container, video encoder and pixel format, as a job plans them before it
/// writes anything: `-f` or the output's extension, `--codec` or `EncoderChoice`, `--pix-fmt`
/// or the encoder's best match for the source; then the encoder's frame format for an output
/// size (`encodeFormat`). What the output cannot keep is said in `warnings`.
public struct EncoderSetup: @unchecked Sendable {
    let muxer: UnsafePointer<AVOutputFormat>
    let codec: UnsafePointer<AVCodec>
    public let pixelFormat: AVPixelFormat
    /// The encoder's name as `--codec` or the choice gave it.
    public let codecName: String
    public private(set) var warnings: [String] = []

    public var muxerName: String { String(cString: muxer.pointee.name) }
    public var encoderName: String { String(cString: codec.pointee.name) }
    /// Raw frames handed to the muxer (`.y4m`): no bitstream to cut into segments.
    public var isWrappedFrame: Bool { codec.pointee.id == CodecID.wrappedFrame }
    /// The container wants codec headers out of band (MP4, MKV...).
    public var needsGlobalHeader: Bool { (muxer.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    /// - Parameters:
    ///   - output: the output path; `format`: `-f NAME`; `codecName`, `pixelFormatName`: `--codec`
    ///     and `--pix-fmt` when given.
    /// - Throws: `MediaInputError` saying what the output cannot be.
    public init(output: String, format: String?, codecName explicitCodec: String?, pixelFormatName: String?,
                source: SourceVideo) throws {
        let ext = URL(fileURLWithPath: output).pathExtension
        muxer = try OutputContainer.muxer(for: output, format: format)
        let muxerName = String(cString: muxer.pointee.name)
        let sourcePixels = source.format.pixelFormat

        var codecName: String
        if let explicitCodec {
            codecName = explicitCodec
        } else {
            let choice = EncoderChoice.choose(muxer: muxer, fileExtension: ext, source: sourcePixels,
                                              sourceCodec: source.codec, sourceHasAlpha: source.hasAlpha)
            codecName = choice.codecName
            if let note = choice.note { warnings.append(note) }
        }
        guard let codec = EncoderCatalog.find(codecName) else {
            throw MediaInputError("unknown video encoder '\(codecName)' (available: \(EncoderCatalog.knownAvailable.joined(separator: ", ")))")
        }
        self.codec = codec
        self.codecName = codecName
        if avformat_query_codec(muxer, codec.pointee.id, FF_COMPLIANCE_NORMAL) == 0 {
            throw MediaInputError("the \(muxerName) container cannot hold \(codecName) video")
        }
        var pixels: AVPixelFormat
        if let name = pixelFormatName {
            guard let f = PixelFormat.named(name) else { throw MediaInputError("unknown pixel format '\(name)'") }
            let supported = EncoderCatalog.pixelFormats(of: codec)
            if !supported.isEmpty && !supported.contains(f) {
                throw MediaInputError("encoder \(codecName) does not take pixel format \(name) (it takes: "
                                      + supported.map(PixelFormat.name).joined(separator: ", ") + ")")
            }
            pixels = f
        } else {
            // swscale writes no palette: a palette source is chosen for as the RGBA it decodes to.
            pixels = EncoderCatalog.bestPixelFormat(for: codec, source: WorkingFormat.isPalette(sourcePixels)
                                                    ? AV_PIX_FMT_RGBA : sourcePixels)
        }
        if source.hasAlpha && !WorkingFormat.hasAlpha(pixels) {
            warnings.append("the source's alpha plane (transparency) is dropped: \(codecName) in \(muxerName) "
                            + "output (\(PixelFormat.name(pixels))) cannot hold it; .png, .mkv, .mov or .webm "
                            + "outputs keep it")
        }
        pixelFormat = try OutputContainer.check(codec: codec, pixelFormat: pixels, muxer: muxerName,
                                                explicitPixelFormat: pixelFormatName != nil)
    }

    /// What the encoder receives for `source` upscaled to `width` x `height`: its pixel format,
    /// colour tags that say how RGB <-> Y'CbCr was converted, and the size cropped to the chroma
    /// grid where the codec needs it (with a warning).
    public mutating func encodeFormat(source: VideoFormat, width: Int32, height: Int32) -> VideoFormat {
        var enc = source.resized(width: width, height: height)
        enc.pixelFormat = pixelFormat
        if PixelFormat.isFullRangeJPEG(pixelFormat) { enc.colour.range = AVCOL_RANGE_JPEG }
        if PixelFormat.isRGB(pixelFormat) && !PixelFormat.isRGB(source.pixelFormat) {
            enc.colour.matrix = AVCOL_SPC_RGB
            enc.colour.range = AVCOL_RANGE_JPEG
        } else if !PixelFormat.isRGB(pixelFormat) && PixelFormat.isRGB(source.pixelFormat) {
            // RGB -> YUV: state the matrix and range used, so players decode it back the same way.
            enc.colour.matrix = enc.colour.effectiveMatrix(height: enc.height)
            enc.colour.range = PixelFormat.isFullRangeJPEG(pixelFormat) ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        }
        // H.264/HEVC/AV1 need even sizes for subsampled chroma: crop the last column/row.
        let shift = PixelFormat.chromaShift(pixelFormat)
        let id = codec.pointee.id
        if id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_AV1 {
            let w = enc.width & ~Int32((1 << shift.x) - 1)
            let h = enc.height & ~Int32((1 << shift.y) - 1)
            if w != enc.width || h != enc.height {
                warnings.append("\(codecName) needs even dimensions for \(PixelFormat.name(pixelFormat)): "
                                + "cropping \(enc.width)x\(enc.height) to \(w)x\(h)")
                enc.width = w
                enc.height = h
            }
        }
        return enc
    }
}
