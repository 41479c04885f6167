import Foundation
import Testing

/// Interlaced sources, for real: 25i clips made with ffmpeg's `interlace` filter (two fields of
/// a 50 fps testsrc2 woven into each frame), tagged (interlaced H.264, MPEG-2) and untagged (the
/// same combed frames encoded as progressive), top and bottom field first.
@Suite("Interlaced sources are deinterlaced")
struct DeinterlaceTests {
    static let dir: String = {
        let dir = NSTemporaryDirectory() + "upres-interlaced-fixtures-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50:duration=2", "-f", "lavfi", "-i",
                   "sine=frequency=440:duration=2:sample_rate=48000", "-c:a", "aac", "-shortest"]
        let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"]
        let files: [(String, [String])] = [
            ("tagged.mkv", ["-vf", "interlace=scan=tff"] + x264 + ["-flags", "+ilme+ildct", "-x264-params", "tff=1"]),
            ("tagged.mpg", ["-vf", "interlace=scan=tff", "-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1",
                            "-q:v", "3", "-c:a", "mp2"]),
            ("untagged.mp4", ["-vf", "interlace=scan=tff,setfield=prog"] + x264),
            ("untagged-bff.mkv", ["-vf", "interlace=scan=bff,setfield=prog"] + x264),
        ]
        for (name, args) in files where !FileManager.default.fileExists(atPath: "\(dir)/\(name)") {
            try? Shell.ffmpeg(src + args + [name], cwd: dir)
        }
        return dir
    }()

    static func fixture(_ name: String) -> String { "\(dir)/\(name)" }

    /// idet's multi-frame verdicts on a file. `downscale`: first back to half size by averaging
    /// row pairs, which turns the 2-row combs an x2 upscale makes of 1-row ones back into the
    /// 1-row combs idet looks for (on the upscaled picture itself idet sees no combing at all,
    /// deinterlaced or not).
    static func idet(_ file: String, downscale: Bool = true) throws -> (tff: Int, bff: Int, progressive: Int) {
        let vf = (downscale ? "scale=iw/2:ih/2:flags=area," : "") + "idet"
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-i", file, "-vf", vf, "-f", "null", "-"])
        guard let line = r.stderr.split(separator: "\n").first(where: { $0.contains("Multi frame detection") }) else {
            throw FixtureError("idet \(file): \(r.stderr.suffix(500))")
        }
        func value(_ key: String) -> Int {
            guard let range = line.range(of: key + ":") else { return -1 }
            return Int(line[range.upperBound...].split(separator: " ").first ?? "") ?? -1
        }
        return (value("TFF"), value("BFF"), value("Progressive"))
    }

    static func progressiveShare(_ file: String) throws -> Double {
        let v = try idet(file)
        return Double(v.progressive) / Double(max(1, v.tff + v.bff + v.progressive))
    }

    @Test("the fixtures really are interlaced, and idet sees the combing of an upscale without deinterlacing")
    func fixturesAreInterlaced() throws {
        for name in ["tagged.mkv", "tagged.mpg", "untagged.mp4", "untagged-bff.mkv"] {
            let v = try Self.idet(Self.fixture(name), downscale: false)
            #expect(v.tff + v.bff >= 45, "\(name): \(v)")
        }
        #expect(try Probe.video(Self.fixture("untagged.mp4"))["field_order"] as? String == "progressive")
        #expect(try Probe.video(Self.fixture("tagged.mpg"))["field_order"] as? String == "tt")
        let s = try Scratch()
        let off = try Upres.run([Self.fixture("tagged.mkv"), "-o", s.file("off.mkv"), "--deinterlace", "off", "-q"], cwd: s.path)
        #expect(off.status == 0, "\(off.stderr)")
        let combs = try Self.idet(s.file("off.mkv"))
        #expect(try Self.progressiveShare(s.file("off.mkv")) < 0.1, "off keeps the combs: \(combs)")
        #expect(["tt", "tb"].contains(try Probe.video(s.file("off.mkv"))["field_order"] as? String ?? ""))
    }

    @Test("auto deinterlaces tagged and untagged sources, keeping frame count and timestamps",
          arguments: ["tagged.mkv", "tagged.mpg", "untagged.mp4", "untagged-bff.mkv"])
    func autoDeinterlaces(_ name: String) throws {
        let s = try Scratch()
        let input = Self.fixture(name)
        let r = try Upres.run([input, "-o", s.file("out.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let out = s.file("out.mkv")
        let verdicts = try Self.idet(out)
        #expect(try Self.progressiveShare(out) >= 0.9, "\(name): \(verdicts)")
        #expect(try Probe.video(out)["field_order"] as? String == "progressive")
        let src = try Probe.framePTS(input), got = try Probe.framePTS(out)
        #expect(got.count == 50)
        // (MP4 to MKV moves the whole file by the AAC priming delay, as without deinterlacing.)
        #expect(Probe.sameTimes(src, got, offset: (got.first ?? 0) - (src.first ?? 0)), "\(name): timestamps kept")
        #expect(try Probe.frameCount(out) == 50)
    }

    @Test("--deinterlace field: one frame per field, twice the rate, timestamps between the frames'")
    func fieldRate() throws {
        let s = try Scratch()
        let input = Self.fixture("tagged.mkv")
        let r = try Upres.run([input, "-o", s.file("out.mkv"), "--deinterlace", "field", "--progress", "json",
                               "--progress-interval", "0.01"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let out = s.file("out.mkv")
        let src = try Probe.framePTS(input), got = try Probe.framePTS(out)
        #expect(got.count == 100)
        let fields = src.flatMap { [$0, $0 + 0.02] }
        #expect(Probe.sameTimes(fields, got), "\(got.prefix(6))")
        #expect(try Probe.video(out)["r_frame_rate"] as? String == "50/1")
        let verdicts = try Self.idet(out)
        #expect(try Self.progressiveShare(out) >= 0.9, "\(verdicts)")
        // The dashboard's and the JSON events' totals count output frames.
        let events = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let progress = events.filter { $0["event"] as? String == "progress" }
        #expect(Probe.int(progress.last?["frames_total"]) == 100)
        #expect(Probe.int(progress.last?["frames_done"]) == 100)
        let start = events.first { $0["event"] as? String == "start" }
        // An estimate (duration x rate: MKV announces no count), doubled.
        let expected = Probe.int(start?["frames_expected"]) ?? 0
        #expect(expected >= 100 && expected <= 104 && expected % 2 == 0, "\(expected)")
        #expect(Probe.int(events.first { $0["event"] as? String == "file_done" }?["frames"]) == 100)
    }

    @Test("segments (the resumable default) equal one pass, frame and field rate", arguments: ["frame", "field"])
    func segmentsEqualOnePass(_ mode: String) throws {
        let s = try Scratch()
        let input = Self.fixture("tagged.mkv")
        let args = ["--deinterlace", mode, "--codec", "ffv1", "-q"]
        let seg = try Upres.run([input, "-o", s.file("seg.mkv"), "--segment-seconds", "0.4"] + args, cwd: s.path)
        let one = try Upres.run([input, "-o", s.file("one.mkv"), "--no-resume"] + args, cwd: s.path)
        #expect(seg.status == 0 && one.status == 0, "\(seg.stderr) \(one.stderr)")
        #expect(try ResumeTests.frameHashes(s.file("seg.mkv")) == ResumeTests.frameHashes(s.file("one.mkv")))
        #expect(try Probe.framePTS(s.file("seg.mkv")) == Probe.framePTS(s.file("one.mkv")))
        #expect(try Probe.frameCount(s.file("seg.mkv")) == (mode == "field" ? 100 : 50))
    }

    @Test("--deinterlace frame forces it; off and progressive sources are left alone, byte for byte")
    func progressiveUntouched() throws {
        let s = try Scratch()
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path
        let input = try s.copy(sample)
        let auto = try Upres.run([input, "-o", s.file("auto.mp4"), "-q"], cwd: s.path)
        let off = try Upres.run([input, "-o", s.file("off.mp4"), "--deinterlace", "off", "-q"], cwd: s.path)
        #expect(auto.status == 0 && off.status == 0)
        #expect(FileManager.default.contents(atPath: s.file("auto.mp4")) == FileManager.default.contents(atPath: s.file("off.mp4")),
                "idet does not misfire on the progressive sample")
        let plan = try Upres.run([input, "--dry-run"], cwd: s.path)
        #expect(!plan.stdout.contains("deinterlaced"), "\(plan.stdout)")
        let forced = try Upres.run([input, "-o", s.file("forced.mp4"), "--deinterlace", "frame", "-q"], cwd: s.path)
        #expect(forced.status == 0)
        #expect(FileManager.default.contents(atPath: s.file("forced.mp4")) != FileManager.default.contents(atPath: s.file("off.mp4")))
        #expect(try Probe.frameCount(s.file("forced.mp4")) == 144)
        let tagged = try Upres.run([Self.fixture("untagged.mp4"), "--dry-run"], cwd: s.path)
        #expect(tagged.stdout.contains("deinterlaced (frame rate: idet: 50 tff"), "\(tagged.stdout)")
    }

    @Test("the default network on an interlaced source: deinterlaced first")
    func network() throws {
        let s = try Scratch()
        let r = try Upres.run([Self.fixture("untagged-bff.mkv"), "-o", s.file("out.mkv"), "-q"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        let verdicts = try Self.idet(s.file("out.mkv"))
        #expect(try Self.progressiveShare(s.file("out.mkv")) >= 0.9, "\(verdicts)")
        #expect(try Probe.frameCount(s.file("out.mkv")) == 50)
    }
}
