import Foundation
import Testing

/// Seeded damage to tiny real files of every common container (MP4, MKV, WebM, MOV, MPEG-TS,
/// AVI, each with audio and, where the container has them, subtitles): flipped bytes,
/// truncation, zeroed ranges and splices (a chunk of the file repeated elsewhere, as a bad
/// capture or a cut-and-paste of a transport stream does). For every case: no crash, no hang,
/// and either exit 0 with an output ffprobe decodes, or exit 1 with one `upres: error:` line
/// and nothing left behind (no output, no work folder, no temporary file).
///
/// Cases are deterministic: a failure names the container, the damage and the seed, e.g.
/// `ts splice seed 7 -> out.mkv (--segment-seconds 0.3)`; the damaged file is rebuilt from
/// those alone (`Case.damaged`). With UPRES_FUZZ_KEEP=DIR, every case's folder (damaged input,
/// output, stderr.txt) is kept in DIR/CASE to reproduce by hand.
@Suite("Damaged inputs of every container (seeded fuzz)")
struct ContainerFuzzTests {
    /// The undamaged files: 64x48, 8 frames at 8 fps (keyframe every 4), 1 s of audio.
    static let bases: [String: String] = {
        let dir = NSTemporaryDirectory() + "upres-fuzz-bases-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cues = "1\n00:00:00,000 --> 00:00:00,500\nOne\n\n2\n00:00:00,500 --> 00:00:01,000\nTwo\n"
        try? cues.write(toFile: dir + "/cues.srt", atomically: true, encoding: .utf8)
        let src = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=8:duration=1",
                   "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=48000"]
        let subs = ["-i", "cues.srt", "-map", "0:v", "-map", "1:a", "-map", "2:s"]
        let av = ["-map", "0:v", "-map", "1:a"]
        let h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "4", "-pix_fmt", "yuv420p"]
        let recipes: [(String, [String])] = [
            ("mp4", src + subs + h264 + ["-c:a", "aac", "-c:s", "mov_text"]),
            ("mkv", src + subs + h264 + ["-c:a", "aac", "-c:s", "srt"]),
            ("webm", src + subs + ["-c:v", "libvpx", "-g", "4", "-c:a", "libopus", "-c:s", "webvtt"]),
            ("mov", src + subs + h264 + ["-c:a", "aac", "-c:s", "mov_text"]),
            ("ts", src + av + h264 + ["-c:a", "mp2"]),
            ("avi", src + av + ["-c:v", "mpeg4", "-g", "4", "-c:a", "libmp3lame"]),
        ]
        var out: [String: String] = [:]
        for (ext, args) in recipes {
            let path = "\(dir)/base.\(ext)"
            if (try? Shell.ffmpeg(args + [path], cwd: dir)) != nil { out[ext] = path }
        }
        return out
    }()

    static let containers = ["mp4", "mkv", "webm", "mov", "ts", "avi"]
    static let outputs = ["mkv", "mp4", "mkv", "mov", "webm", "ts"]

    enum Damage: String, CaseIterable, Sendable { case flip, truncate, zero, splice }

    struct Case: CustomTestStringConvertible, Sendable {
        let container: String
        let damage: Damage
        let seed: UInt64

        var output: String { "out." + ContainerFuzzTests.outputs[Int(seed % 6)] }
        /// One pass, small segments (several segments and a real join) or the default.
        var modeArgs: [String] {
            switch seed % 4 {
            case 0: return ["--no-resume"]
            case 1: return ["--segment-seconds", "0.3"]
            default: return []
            }
        }
        /// A handful run the default network (one per container); the rest lanczos.
        var network: Bool { damage == .splice && seed == 1 }
        var arguments: [String] {
            ["base.\(container)", "-o", output, "-q"] + modeArgs + (network ? [] : ["--upscaler", "lanczos"])
        }
        var testDescription: String {
            "\(container) \(damage.rawValue) seed \(seed) -> \(output)" + (modeArgs.isEmpty ? "" : " (\(modeArgs.joined(separator: " ")))")
                + (network ? " [network]" : "")
        }

        /// The damaged bytes: a pure function of the base file, the damage and the seed.
        func damaged(_ original: [UInt8]) -> [UInt8] {
            var d = original
            var s = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(Damage.allCases.firstIndex(of: damage)! * 7919)
            func next(_ n: Int) -> Int {
                s = s &* 6364136223846793005 &+ 1442695040888963407
                return Int((s >> 33) % UInt64(max(1, n)))
            }
            switch damage {
            case .flip:
                // Mostly a few bytes anywhere; sometimes a burst in the first 4 KiB (headers).
                let header = next(3) == 0
                for _ in 0..<(1 + next(64)) {
                    let at = header ? next(min(4096, d.count)) : next(d.count)
                    d[at] ^= UInt8(1 + next(255))
                }
            case .truncate:
                d.removeLast(d.count - (64 + next(d.count - 64)))
            case .zero:
                for _ in 0..<(1 + next(4)) {
                    let length = 16 + next(4096)
                    let at = next(d.count)
                    for i in at..<min(d.count, at + length) { d[i] = 0 }
                }
            case .splice:
                for _ in 0..<(1 + next(3)) {
                    let length = 188 + next(4096)
                    let from = next(max(1, d.count - length))
                    let chunk = Array(d[from..<min(d.count, from + length)])
                    d.insert(contentsOf: chunk, at: next(d.count))
                }
            }
            return d
        }
    }

    static let cases: [Case] = containers.flatMap { c in
        Damage.allCases.flatMap { damage in (1...12).map { Case(container: c, damage: damage, seed: UInt64($0)) } }
    }

    @Test("never a crash or a hang; a playable output or one clear error and nothing left", arguments: cases)
    func damaged(_ c: Case) throws {
        let base = try #require(Self.bases[c.container], "the ffmpeg CLI could not make the \(c.container) base file")
        let s = try Scratch("fuzz-\(c.container)-\(c.damage)-\(c.seed)")
        let input = s.file("base.\(c.container)")
        try Data(c.damaged([UInt8](try Data(contentsOf: URL(fileURLWithPath: base))))).write(to: URL(fileURLWithPath: input))
        let started = Date()
        let r = try Shell.run("/usr/bin/timeout", ["-s", "KILL", "60", Upres.binary] + c.arguments, cwd: s.path)
        let seconds = Date().timeIntervalSince(started)
        if let keep = ProcessInfo.processInfo.environment["UPRES_FUZZ_KEEP"] {
            let dest = (keep as NSString).appendingPathComponent(c.testDescription.filter { $0.isLetter || $0.isNumber || $0 == " " }
                .replacingOccurrences(of: " ", with: "-"))
            try? FileManager.default.removeItem(atPath: dest)
            try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: s.path, toPath: dest)
            try? r.stderr.write(toFile: dest + "/stderr.txt", atomically: true, encoding: .utf8)
        }
        #expect(r.status == 0 || r.status == 1, "\(c.testDescription): exit \(r.status) after \(Int(seconds)) s (signal or hang): \(r.stderr)")
        #expect(r.stdout.isEmpty, "\(c.testDescription): nothing on stdout")
        if r.status == 0 {
            #expect(s.listing == [input, s.file(c.output)].map { ($0 as NSString).lastPathComponent }.sorted(),
                    "\(c.testDescription): only the output is added: \(s.listing)")
            let decoded = try Self.decode(s.file(c.output))
            #expect(decoded.ok && decoded.videoFrames > 0,
                    "\(c.testDescription): the output decodes (\(decoded.videoFrames) video frames): \(decoded.errors)")
        } else if r.status == 1 {
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("upres: error:") }
            #expect(errors.count == 1, "\(c.testDescription): one error line: \(r.stderr)")
            #expect(errors.first.map { $0.contains("base.\(c.container)") || $0.contains(c.output) } ?? false,
                    "\(c.testDescription): the error names the file: \(r.stderr)")
            #expect(s.listing == ["base.\(c.container)"], "\(c.testDescription): nothing left behind: \(s.listing)")
        }
    }

    /// The reported case: byte splices in an H.264 + MP2 transport stream, which `ffmpeg -c:a copy`
    /// finishes (repairing the copied audio's non-monotonous DTS) and upres used to stop on with
    /// `av_interleaved_write_frame failed: Invalid argument`, leaving its work folder behind.
    @Test("a spliced MPEG-TS finishes where ffmpeg does: its frames and audio packets, the repair warned",
          arguments: [["--no-resume"], ["--segment-seconds", "0.5"]])
    func splicedTransportStream(_ mode: [String]) throws {
        let s = try Scratch()
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
                          "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-c:a", "mp2", "src.ts"], cwd: s.path)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("src.ts"))))
        var repaired = 0
        for seed in UInt64(1)...8 {
            var d = original
            var state = seed &* 0x9E37_79B9_7F4A_7C15
            func next(_ n: Int) -> Int {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Int((state >> 33) % UInt64(max(1, n)))
            }
            for _ in 0..<3 {
                let from = next(original.count - 3000), length = 100 + next(2900)
                d.insert(contentsOf: original[from..<(from + length)], at: next(d.count))
            }
            let bad = s.file("bad\(seed).ts")
            try Data(d).write(to: URL(fileURLWithPath: bad))
            let reference = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-y", "-i", bad, "-c:v", "libx264",
                                                                   "-preset", "ultrafast", "-c:a", "copy", s.file("ref\(seed).mkv")])
            guard reference.status == 0 else { continue }
            let r = try Upres.run([bad, "-o", s.file("out\(seed).mkv"), "-q"] + mode, cwd: s.path)
            #expect(r.status == 0, "seed \(seed): ffmpeg finishes this file, so upres does: \(r.stderr)")
            guard r.status == 0 else { continue }
            if r.stderr.contains("re-timed (out-of-order or repeated timestamps)") { repaired += 1 }
            let ours = try Self.counts(s.file("out\(seed).mkv")), theirs = try Self.counts(s.file("ref\(seed).mkv"))
            #expect(ours.video >= theirs.video && ours.audio == theirs.audio,
                    "seed \(seed): upres \(ours), ffmpeg \(theirs) (video frames, audio packets)")
        }
        #expect(repaired >= 3, "most splices break the copied audio's timestamps (\(repaired) of 8 repaired)")
        #expect(s.listing.allSatisfy { !$0.hasPrefix(".") }, "no work folder or temporary file left: \(s.listing)")
    }

    /// Decoded video frames and audio packets of a file.
    static func counts(_ file: String) throws -> (video: Int, audio: Int) {
        let r = try Shell.run(Shell.which("ffprobe"), ["-v", "error", "-count_frames", "-count_packets", "-show_entries",
                                                       "stream=codec_type,nb_read_frames,nb_read_packets", "-of", "csv=p=0", file])
        var video = 0, audio = 0
        for line in r.stdout.split(separator: "\n") {
            let cols = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cols.count >= 3 else { continue }
            if cols[0] == "video" { video += Int(cols[1]) ?? 0 }
            if cols[0] == "audio" { audio += Int(cols[2]) ?? 0 }
        }
        return (video, audio)
    }

    /// Decodes every stream of a file with ffprobe; ok when ffprobe exits cleanly.
    static func decode(_ file: String) throws -> (ok: Bool, videoFrames: Int, errors: String) {
        let r = try Shell.run("/usr/bin/timeout", ["60", Shell.which("ffprobe"), "-v", "error", "-show_entries", "frame=media_type",
                                                   "-of", "csv=p=0", file])
        let video = r.stdout.split(separator: "\n").filter { $0.hasPrefix("video") }.count
        return (r.status == 0, video, r.stderr)
    }
}
