import CFFmpeg

/// Image-sequence patterns (`frames/%05d.png`), as FFmpeg's image muxer and demuxer read them.
public enum ImageSequence {
    /// True when the path holds a frame-number pattern.
    public static func isPattern(_ path: String) -> Bool { av_filename_number_test(path) != 0 }

    /// The file name of frame `number` of `pattern`; nil when the pattern is not one.
    public static func file(_ pattern: String, number: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let r = av_get_frame_filename(&buffer, Int32(buffer.count), pattern, number)
        return r < 0 ? nil : String(cString: buffer)
    }
}
