import Foundation
import Testing

/// Runs a program and returns its exit status and output.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// stderr lines that are errors (`upres: error: ...`).
    var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.contains("error") } }
}

enum Shell {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], cwd: String? = nil,
                    environment: [String: String] = [:]) throws -> RunResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "interactive=no"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var outData = Data()
        let read = DispatchSemaphore(value: 0)
        Thread { outData = out.fileHandleForReading.readDataToEndOfFile(); read.signal() }.start()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        read.wait()
        return RunResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }

    static func which(_ name: String) -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/\(name)"
    }

    /// Runs the ffmpeg CLI (test fixtures); fails the test on error.
    static func ffmpeg(_ args: [String], cwd: String) throws {
        let r = try run(which("ffmpeg"), ["-nostdin", "-v", "error", "-y"] + args, cwd: cwd)
        if r.status != 0 { throw FixtureError("ffmpeg \(args.joined(separator: " ")) failed: \(r.stderr)") }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The upres binary under test (`UPRES_BIN`, else the debug build of this package).
enum Upres {
    static let binary: String = {
        if let bin = ProcessInfo.processInfo.environment["UPRES_BIN"] { return bin }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/upres").path
    }()

    /// Runs upres. Media tests pin the classical upscaler (fast in debug builds, and what they
    /// check does not depend on the upscaler); pass `network: true` to keep the default model.
    static func run(_ args: [String], cwd: String, network: Bool = false) throws -> RunResult {
        let pinned = network || args.contains("--model") || args.contains("--upscaler") ? args : args + ["--upscaler", "lanczos"]
        return try Shell.run(binary, pinned, cwd: cwd)
    }
}

/// A fresh folder per test, removed at the end.
final class Scratch {
    let path: String
    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "upres-test-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func copy(_ fixture: String, as name: String? = nil) throws -> String {
        let dst = file(name ?? (fixture as NSString).lastPathComponent)
        try FileManager.default.copyItem(atPath: fixture, toPath: dst)
        return dst
    }
    var listing: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Reads facts about media files with ffprobe / ffmpeg.
enum Probe {
    static func json(_ file: String, _ args: [String]) throws -> [String: Any] {
        let r = try Shell.run(Shell.which("ffprobe"), ["-v", "error", "-of", "json"] + args + [file])
        guard r.status == 0, let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw FixtureError("ffprobe \(file): \(r.stderr)")
        }
        return obj
    }

    static func streams(_ file: String) throws -> [[String: Any]] {
        try json(file, ["-show_streams"])["streams"] as? [[String: Any]] ?? []
    }

    static func format(_ file: String) throws -> [String: Any] {
        try json(file, ["-show_format"])["format"] as? [String: Any] ?? [:]
    }

    static func chapters(_ file: String) throws -> [[String: Any]] {
        try json(file, ["-show_chapters"])["chapters"] as? [[String: Any]] ?? []
    }

    static func video(_ file: String) throws -> [String: Any] {
        guard let v = try streams(file).first(where: { $0["codec_type"] as? String == "video" }) else {
            throw FixtureError("\(file): no video stream")
        }
        return v
    }

    /// Presentation times of every decoded video frame, in seconds.
    static func framePTS(_ file: String) throws -> [Double] {
        let frames = try json(file, ["-select_streams", "v:0", "-show_entries", "frame=pts_time"])["frames"]
            as? [[String: Any]] ?? []
        return frames.compactMap { ($0["pts_time"] as? String).flatMap(Double.init) }
    }

    /// True when two timestamp lists match to within `tolerance` seconds (containers round
    /// times to their own time base, e.g. Matroska to 1 ms).
    static func sameTimes(_ a: [Double], _ b: [Double], offset: Double = 0, tolerance: Double = 0.0015) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($1 - $0 - offset) <= tolerance }
    }

    /// Presentation time of the first packet of a stream (`a:0`, `v:0`).
    static func firstPacketTime(_ file: String, stream: String) throws -> Double {
        let packets = try json(file, ["-select_streams", stream, "-read_intervals", "%+#1",
                                      "-show_entries", "packet=pts_time"])["packets"] as? [[String: Any]] ?? []
        return packets.first.flatMap { ($0["pts_time"] as? String).flatMap(Double.init) } ?? .nan
    }

    static func frameCount(_ file: String) throws -> Int { try framePTS(file).count }

    /// framemd5 of one stream's packets (stream copy): size and hash per packet.
    static func packetHashes(_ file: String, stream: String) throws -> [String] {
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-i", file, "-map", "0:\(stream)",
                                                      "-c", "copy", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw FixtureError("framemd5 \(file): \(r.stderr)") }
        return r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            // stream, dts, pts, duration, size, md5[, side data hashes]: keep the payload columns.
            let cols = $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return cols.count >= 6 ? cols[4] + "," + cols[5] : String($0)
        }
    }

    static func int(_ v: Any?) -> Int? {
        if let i = v as? Int { return i }
        if let s = v as? String { return Int(s) }
        return nil
    }

    static func tags(_ stream: [String: Any]) -> [String: String] {
        (stream["tags"] as? [String: String]) ?? [:]
    }
}
