import Foundation
import Testing

/// Streams the output container cannot hold are converted, not dropped: text subtitles to
/// mov_text (MP4/MOV) or WebVTT (WebM), audio to AAC or Opus, in one pass and in the segmented
/// job's final mux alike.
@Suite("Conversions into containers that cannot hold a stream")
struct ConversionTests {
    /// Three cues (one with markup, one on two lines), 2 s of 64x48 video and audio, per container.
    static let dir: String = {
        let dir = NSTemporaryDirectory() + "upres-conversion-fixtures-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cues = "1\n00:00:00,000 --> 00:00:00,800\nHello <i>there</i>\n\n2\n00:00:01,000 --> 00:00:01,500\n"
            + "Second cue\nwith two lines\n\n3\n00:00:01,600 --> 00:00:02,000\nThird\n"
        try? cues.write(toFile: dir + "/cues.srt", atomically: true, encoding: .utf8)
        let v = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24:duration=2", "-f", "lavfi", "-i",
                 "sine=frequency=440:duration=2:sample_rate=44100"]
        let h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "6"]
        try? Shell.ffmpeg(v + ["-i", "cues.srt", "-map", "0", "-map", "1", "-map", "2"] + h264
                          + ["-c:a", "aac", "-c:s", "srt", "-metadata:s:s:0", "language=deu", "srt.mkv"], cwd: dir)
        try? Shell.ffmpeg(v + h264 + ["-c:a", "aac", "aac.mp4"], cwd: dir)
        try? Shell.ffmpeg(v + h264 + ["-c:a", "pcm_s16le", "-ac", "2", "pcm.mov"], cwd: dir)
        return dir
    }()

    static let modes: [[String]] = [["--no-resume"], ["--segment-seconds", "0.5"]]

    /// Cues as ffmpeg reads them back (converted to SubRip): start, end, text.
    static func cues(_ file: String) throws -> [String] {
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-i", file, "-map", "0:s:0", "-f", "srt", "-"])
        guard r.status == 0 else { throw FixtureError("cues of \(file): \(r.stderr)") }
        return r.stdout.components(separatedBy: "\n\n").map { block in
            block.split(separator: "\n").dropFirst().joined(separator: "\n")   // without the counter
        }.filter { !$0.isEmpty }
    }

    /// Cues with their times in seconds.
    static func timedCues(_ file: String) throws -> [(start: Double, end: Double, text: String)] {
        func seconds(_ t: Substring) -> Double {
            let p = t.replacingOccurrences(of: ",", with: ".").split(separator: ":").compactMap { Double($0) }
            return p.count == 3 ? p[0] * 3600 + p[1] * 60 + p[2] : .nan
        }
        return try cues(file).map { cue in
            let lines = cue.split(separator: "\n", maxSplits: 1)
            let times = lines[0].components(separatedBy: " --> ")
            return (seconds(Substring(times[0])), seconds(Substring(times.count > 1 ? times[1] : "")),
                    lines.count > 1 ? String(lines[1]) : "")
        }
    }

    /// Decoded audio length in seconds (samples / rate).
    static func audioSeconds(_ file: String) throws -> Double {
        let s = try Probe.json(file, ["-select_streams", "a:0", "-show_entries", "frame=nb_samples:stream=sample_rate"])
        let rate = Double(Probe.int((s["streams"] as? [[String: Any]])?.first?["sample_rate"]) ?? 0)
        let samples = (s["frames"] as? [[String: Any]] ?? []).compactMap { Probe.int($0["nb_samples"]) }.reduce(0, +)
        return rate > 0 ? Double(samples) / rate : 0
    }

    @Test("SRT in MKV -> MP4: a mov_text stream with the same cues, times and language", arguments: modes)
    func subripToMP4(_ mode: [String]) throws {
        let s = try Scratch()
        let r = try Upres.run([Self.dir + "/srt.mkv", "-o", "out.mp4"] + mode, cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("converted subtitle stream #2 (subrip -> mov_text): the mp4 container cannot hold subrip"), "\(r.stderr)")
        let sub = try #require(try Probe.streams(s.file("out.mp4")).first { $0["codec_type"] as? String == "subtitle" })
        #expect(sub["codec_name"] as? String == "mov_text")
        #expect(Probe.tags(sub)["language"] == "deu")
        let theirs = try Self.cues(Self.dir + "/srt.mkv"), ours = try Self.cues(s.file("out.mp4"))
        #expect(theirs.count == 3 && ours == theirs, "\(ours) vs \(theirs)")
        #expect(s.listing == ["out.mp4"], "\(s.listing)")
    }

    @Test("SRT -> WebM becomes WebVTT, AAC -> WebM becomes Opus as long as the source within a frame", arguments: modes)
    func toWebM(_ mode: [String]) throws {
        let s = try Scratch()
        for (input, output) in [("aac.mp4", "aac.webm"), ("srt.mkv", "srt.webm")] {
            let r = try Upres.run([Self.dir + "/" + input, "-o", output] + mode, cwd: s.path)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("converted audio stream #1 (aac -> opus, 48000 Hz mono flt): the webm container cannot hold aac"),
                    "\(r.stderr)")
            let audio = try #require(try Probe.streams(s.file(output)).first { $0["codec_type"] as? String == "audio" })
            #expect(audio["codec_name"] as? String == "opus")
            let source = try Self.audioSeconds(Self.dir + "/" + input), ours = try Self.audioSeconds(s.file(output))
            #expect(source > 1.9 && abs(ours - source) <= 1024.0 / 44100, "\(ours) s of Opus for \(source) s of AAC")
        }
        // The same cues at the same times as the ffmpeg CLI's own conversion (WebM shifts every
        // stream by Opus's 6.5 ms of priming: it allows no negative times).
        try Shell.ffmpeg(["-i", Self.dir + "/srt.mkv", "-map", "0", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                          "-c:a", "libopus", "-c:s", "webvtt", "ref.webm"], cwd: s.path)
        let theirs = try Self.cues(s.file("ref.webm")), ours = try Self.cues(s.file("srt.webm"))
        #expect(ours == theirs && ours.count == 3, "\(ours) vs \(theirs)")
        #expect(try Self.timedCues(s.file("srt.webm")).map(\.text) == Self.timedCues(Self.dir + "/srt.mkv").map(\.text))
        #expect(try Probe.streams(s.file("srt.webm")).contains { $0["codec_name"] as? String == "webvtt" })
        // Into a pipe too.
        let p = try Shell.run("/bin/bash", ["-c", "set -o pipefail; \"$UP\" \"$IN\" -o - -f webm --upscaler lanczos -q > piped.webm"],
                              cwd: s.path, environment: ["UP": Upres.binary, "IN": Self.dir + "/aac.mp4"])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Probe.streams(s.file("piped.webm")).contains { $0["codec_name"] as? String == "opus" })
    }

    @Test("PCM in MOV -> MP4 becomes AAC; the same length, the same sound", arguments: modes)
    func pcmToMP4(_ mode: [String]) throws {
        let s = try Scratch()
        let r = try Upres.run([Self.dir + "/pcm.mov", "-o", "out.mp4"] + mode, cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("converted audio stream #1 (pcm_s16le -> aac, 44100 Hz stereo fltp)"), "\(r.stderr)")
        let audio = try #require(try Probe.streams(s.file("out.mp4")).first { $0["codec_type"] as? String == "audio" })
        #expect(audio["codec_name"] as? String == "aac" && Probe.int(audio["channels"]) == 2)
        let source = try Self.audioSeconds(Self.dir + "/pcm.mov"), ours = try Self.audioSeconds(s.file("out.mp4"))
        #expect(abs(ours - source) <= 1024.0 / 44100, "\(ours) s of AAC for \(source) s of PCM")
        // A 440 Hz tone stays a 440 Hz tone: the same loudness (ffmpeg's astats RMS level).
        func rms(_ file: String) throws -> Double {
            let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-i", file, "-map", "0:a", "-af", "astats=measure_perchannel=none",
                                                          "-f", "null", "-"])
            let line = r.stderr.split(separator: "\n").last { $0.contains("RMS level dB") }
            return Double(line?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? .nan
        }
        let a = try rms(Self.dir + "/pcm.mov"), b = try rms(s.file("out.mp4"))
        #expect(abs(a - b) < 0.5, "RMS \(a) dB vs \(b) dB")
    }
}
