import CFFmpeg

/// The main video stream of an input as a job reads it: decodable, its format (the decoder's,
/// with the alpha plane libvpx adds to VP8/VP9), its codec, and whether it carries an alpha
/// plane worth keeping.
public struct SourceVideo: Sendable {
    public let format: VideoFormat
    public let codec: AVCodecID
    /// A real alpha plane: not a palette's transparency, nor GIF's (its decoder always gives
    /// BGRA), which are kept in image outputs (RGBA) but choose no lossless video encoder.
    public let hasAlpha: Bool

    /// - Parameter alphaDecoder: the decoder used instead of FFmpeg's default
    ///   (`VideoDecoder.alphaDecoder`), which decodes to a format with alpha.
    /// - Throws: `MediaInputError` when FFmpeg has no decoder for it or it has no picture size
    ///   or pixel format.
    public init(input: InputFile, stream: Int, alphaDecoder: String?) throws {
        let st = input.stream(stream)
        let par = st.pointee.codecpar!
        codec = par.pointee.codec_id
        if avcodec_find_decoder(codec) == nil {
            throw MediaInputError("no decoder for video codec '\(MediaNames.codec(codec))' in this FFmpeg build")
        }
        var pixels = AVPixelFormat(rawValue: par.pointee.format)
        if alphaDecoder != nil && pixels == AV_PIX_FMT_YUV420P { pixels = AV_PIX_FMT_YUVA420P }
        guard par.pointee.width > 0, par.pointee.height > 0, pixels != AV_PIX_FMT_NONE else {
            throw MediaInputError("video stream #\(stream) has no decodable picture size or pixel format")
        }
        format = VideoFormat(width: par.pointee.width, height: par.pointee.height, pixelFormat: pixels,
                             sampleAspectRatio: av_guess_sample_aspect_ratio(input.context, st, nil),
                             colour: ColourDescription(parameters: par), fieldOrder: par.pointee.field_order)
        hasAlpha = WorkingFormat.hasAlpha(pixels) && !WorkingFormat.isPalette(pixels) && codec != AV_CODEC_ID_GIF
    }
}

extension VideoFormat {
    /// The same format with progressive frames (what a deinterlacer gives).
    public var progressive: VideoFormat {
        var f = self
        f.fieldOrder = AV_FIELD_PROGRESSIVE
        return f
    }
}
