import UpresEngine
import UpresMedia

/// `upres --version`: the release and what this binary runs on, so a bug report says it all.
enum VersionInfo {
    static func describe(release: String) -> String {
        """
        upres \(release)
        \(MediaInfo.ffmpeg)
        \(EngineInfo.oneDNN), CPU ISA \(Precision.cpuISA)
        """
    }
}
