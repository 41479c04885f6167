import CFFmpeg
import CMediaShims

/// Controls what FFmpeg's libraries print.
public enum MediaLog {
    /// Shows FFmpeg's own messages at `level` and above severity (default: errors only,
    /// since upres reports problems itself).
    public static func setLevel(_ level: Level) { av_log_set_level(level.rawValue) }

    public enum Level: Int32, Sendable {
        case quiet = -8, error = 16, warning = 24, info = 32, verbose = 40, debug = 48
    }
}
