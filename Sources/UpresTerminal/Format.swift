import Foundation

/// Number formats shared by the dashboard, the plain lines and the summaries.
public enum Format {
    /// 0:41, 12:05, 1:02:03; "--:--" when unknown.
    public static func clock(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// 512 B, 12 KiB, 3.4 MiB, 1.25 GiB.
    public static func bytes(_ n: Int64) -> String {
        let d = Double(n)
        if n >= 1 << 30 { return String(format: "%.2f GiB", d / 1_073_741_824) }
        if n >= 1 << 20 { return String(format: "%.1f MiB", d / 1_048_576) }
        if n >= 1 << 10 { return String(format: "%.0f KiB", d / 1024) }
        return "\(max(0, n)) B"
    }

    /// 850 kbit/s, 4.1 Mbit/s.
    public static func bitrate(_ bitsPerSecond: Double) -> String {
        guard bitsPerSecond.isFinite, bitsPerSecond >= 0 else { return "?" }
        if bitsPerSecond >= 1e6 { return String(format: "%.1f Mbit/s", bitsPerSecond / 1e6) }
        return String(format: "%.0f kbit/s", bitsPerSecond / 1e3)
    }

    /// Frame and pixel rates: three significant digits are plenty (0.42, 7.31, 29.8, 812).
    public static func rate(_ v: Double) -> String {
        guard v.isFinite, v >= 0 else { return "0" }
        if v < 10 { return String(format: "%.2f", v) }
        if v < 100 { return String(format: "%.1f", v) }
        return String(format: "%.0f", v)
    }

    /// 24.7% (one decimal below 100).
    public static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "0%" }
        let p = max(0, min(1, fraction)) * 100
        return p >= 99.95 ? "100%" : String(format: "%.1f%%", p)
    }

    /// Short counts for narrow columns: 999, 12.3k, 4.5M.
    public static func count(_ n: Int) -> String {
        if n < 10_000 { return String(n) }
        if n < 1_000_000 { return String(format: "%.1fk", Double(n) / 1e3) }
        return String(format: "%.1fM", Double(n) / 1e6)
    }
}
