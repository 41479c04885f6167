import CFFmpeg

/// What this build's media layer is: the FFmpeg libraries loaded at run time.
public enum MediaInfo {
    /// "FFmpeg 5.1.6-0+deb12u1 (libavcodec 59.37.100, libavformat 59.27.100, ...)".
    public static var ffmpeg: String {
        func v(_ n: UInt32) -> String { "\(n >> 16).\((n >> 8) & 0xff).\(n & 0xff)" }
        let libs = [("libavcodec", avcodec_version()), ("libavformat", avformat_version()), ("libavutil", avutil_version()),
                    ("libavfilter", avfilter_version()), ("libswscale", swscale_version())]
        return "FFmpeg \(String(cString: av_version_info())) (" + libs.map { "\($0.0) \(v($0.1))" }.joined(separator: ", ") + ")"
    }
}
