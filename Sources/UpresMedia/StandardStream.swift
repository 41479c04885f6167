/// `-` as a file name: standard input (`upres - ...`) or standard output (`-o - -f NAME`). A pipe
/// is read or written once, in order, never seeked: such jobs run in one pass (no segments, no
/// work folder, nothing to resume) and the checks for existing files do not apply.
public enum StandardStream {
    public static let name = "-"
    public static func isPipe(_ path: String) -> Bool { path == name }
    /// The FFmpeg URL for the stream (`pipe:0` / `pipe:1`).
    public static func url(reading: Bool) -> String { reading ? "pipe:0" : "pipe:1" }
}
