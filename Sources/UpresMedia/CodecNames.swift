import CFFmpeg

/// Codec identities upres tests for.
public enum CodecID {
    public static let aac = AV_CODEC_ID_AAC
    /// FFmpeg's pseudo-encoder that passes raw frames to the muxer (`.y4m`, pipes).
    public static let wrappedFrame = AV_CODEC_ID_WRAPPED_AVFRAME
}

/// FFmpeg's names of codecs and media types, for messages and events.
public enum MediaNames {
    /// `h264`, `aac`... ("unknown" when FFmpeg has no name).
    public static func codec(_ id: AVCodecID) -> String { avcodec_get_name(id).map { String(cString: $0) } ?? "unknown" }
    /// `video`, `audio`, `subtitle`, `attachment`, `data`.
    public static func mediaType(_ type: AVMediaType) -> String {
        av_get_media_type_string(type).map { String(cString: $0) } ?? "data"
    }
}
