import ArgumentParser
import Foundation
import UpresKit

enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    case auto, plain, none
}

/// Plain progress on stderr: a line redrawn in place on a terminal, one line every few
/// seconds into a pipe, and a summary line per file.
final class ProgressPrinter {
    private let enabled: Bool
    private let inPlace: Bool
    private var lastPrint = Date.distantPast
    private var lineShown = false
    private var input = ""
    private var warningsShown = 0

    init(mode: ProgressMode) {
        let tty = isatty(STDERR_FILENO) != 0
        enabled = mode != .none
        inPlace = tty && mode == .auto
    }

    func start(_ job: UpscaleJob) {
        input = job.settings.input
        for w in job.warnings { Diagnostics.warning("\(input): \(w)") }
        warningsShown = job.warnings.count
        guard enabled else { return }
        let s = job.sourceFormat, e = job.encodeFormat
        Diagnostics.write("upres: \(job.settings.input) -> \(job.outputPath): \(s.width)x\(s.height) -> "
                          + "\(e.width)x\(e.height), \(job.settings.upscaler.name), "
                          + "\(job.encoderCodec.pointee.name.map { String(cString: $0) } ?? "?")")
    }

    func update(_ p: PipelineStats) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= (inPlace ? 0.25 : 5) else { return }
        lastPrint = now
        let fps = p.elapsed > 0 ? Double(p.framesDone) / p.elapsed : 0
        var text = "frame \(p.framesDone)"
        if let total = p.framesTotal, total > 0 {
            let pct = min(100, 100 * Double(p.framesDone) / Double(total))
            text += "/\(total) (\(String(format: "%.1f", pct))%)"
            if fps > 0 && p.framesDone < total {
                text += "  ETA \(Self.clock(Double(total - p.framesDone) / fps))"
            }
        }
        text += String(format: "  %.1f fps  %@ elapsed  %@ written", fps, Self.clock(p.elapsed),
                       Self.bytes(p.bytesWritten))
        if inPlace {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            lineShown = true
        } else {
            Diagnostics.write("upres: " + text)
        }
    }

    func clearLine() {
        if lineShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); lineShown = false }
    }

    func finish(_ r: JobResult) {
        clearLine()
        for w in r.warnings.dropFirst(warningsShown) { Diagnostics.warning("\(input): \(w)") }
        guard enabled else { return }
        let fps = r.elapsed > 0 ? Double(r.framesEncoded) / r.elapsed : 0
        let size = (try? FileManager.default.attributesOfItem(atPath: r.output)[.size] as? Int64) ?? nil
        Diagnostics.write("upres: done: \(r.output): \(r.framesEncoded) frames, \(r.inputSize.width)x\(r.inputSize.height) -> "
                          + "\(r.outputSize.width)x\(r.outputSize.height) \(r.encoder) \(r.pixelFormat), "
                          + "\(r.copiedStreams) streams copied, \(String(format: "%.1f", r.elapsed)) s "
                          + "(\(String(format: "%.1f", fps)) fps)" + (size.map { ", \(Self.bytes($0))" } ?? ""))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    static func bytes(_ n: Int64) -> String {
        let d = Double(n)
        if n >= 1 << 30 { return String(format: "%.2f GiB", d / 1_073_741_824) }
        if n >= 1 << 20 { return String(format: "%.1f MiB", d / 1_048_576) }
        if n >= 1 << 10 { return String(format: "%.0f KiB", d / 1024) }
        return "\(n) B"
    }
}
