import Foundation
import Testing

/// `--start`/`--duration`/`--to` on real files: the video frames of the range, audio and
/// subtitle packets that start in it, chapters clipped, everything shifted to start at 0.
@Suite("A part of a file")
struct RangeTests {
    /// 4 s at 25 fps (a keyframe a second), AAC audio, four subtitle cues, three chapters.
    static let clip: String = {
        let dir = NSTemporaryDirectory() + "upres-range-fixture-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/clip.mkv"
        if !FileManager.default.fileExists(atPath: path) {
            try? ("1\n00:00:00,000 --> 00:00:00,800\nA\n\n2\n00:00:01,200 --> 00:00:01,800\nB\n\n"
                  + "3\n00:00:02,500 --> 00:00:03,000\nC\n\n4\n00:00:03,500 --> 00:00:03,900\nD\n")
                .write(toFile: dir + "/subs.srt", atomically: true, encoding: .utf8)
            try? (";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\n"
                  + "START=1500\nEND=2500\ntitle=Two\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=2500\nEND=4000\ntitle=Three\n")
                .write(toFile: dir + "/chapters.txt", atomically: true, encoding: .utf8)
            try? Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4", "-f", "lavfi", "-i",
                               "sine=frequency=440:duration=4:sample_rate=48000", "-i", "subs.srt", "-i", "chapters.txt",
                               "-map", "0:v", "-map", "1:a", "-map", "2", "-map_chapters", "3", "-c:v", "libx264",
                               "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-c:s", "srt", "clip.mkv"], cwd: dir)
        }
        return path
    }()

    static func packets(_ file: String, _ stream: String) throws -> [(pts: Double, duration: Double)] {
        let list = try Probe.json(file, ["-select_streams", stream, "-show_entries", "packet=pts_time,duration_time"])["packets"]
            as? [[String: Any]] ?? []
        return list.compactMap { p in
            guard let t = (p["pts_time"] as? String).flatMap(Double.init) else { return nil }
            return (t, (p["duration_time"] as? String).flatMap(Double.init) ?? 0)
        }.sorted { $0.pts < $1.pts }
    }

    /// Checks a 1 s - 3 s cut of `clip` against the source.
    static func checkCut(_ out: String, source: String) throws {
        let src = try Probe.framePTS(source), got = try Probe.framePTS(out)
        let expected = src.filter { $0 >= 1 && $0 < 3 }
        #expect(expected.count == 50)
        #expect(got.count == 50)
        #expect(Probe.sameTimes(expected, got, offset: -1), "video shifted by the start: \(got.prefix(3))")
        let audio = try packets(out, "a:0")
        let aac = 1024.0 / 48000
        let span = (audio.last.map { $0.pts + $0.duration } ?? 0) - (audio.first?.pts ?? 0)
        #expect(abs(span - 2) <= aac, "audio lasts \(span) s")
        #expect((audio.first?.pts ?? -1) >= 0 && (audio.first?.pts ?? 1) < aac, "audio starts at 0")
        let srcAudio = try packets(source, "a:0").filter { $0.pts >= 1 && $0.pts < 3 }
        #expect(audio.count == srcAudio.count)
        // Cues B (1.2 s) and C (2.5 s) only, at 0.2 s and 1.5 s (plus the source's own offset).
        let srcCues = try packets(source, "s:0").map(\.pts)
        let cues = try packets(out, "s:0").map(\.pts)
        #expect(Probe.sameTimes(srcCues.filter { $0 >= 1 && $0 < 3 }, cues, offset: -1), "\(cues)")
        #expect(cues.count == 2)
        let chapters = try Probe.chapters(out)
        #expect(chapters.compactMap { ($0["tags"] as? [String: String])?["title"] } == ["One", "Two", "Three"])
        #expect(chapters.compactMap { ($0["start_time"] as? String).flatMap(Double.init) } == [0, 0.5, 1.5])
        #expect(chapters.compactMap { ($0["end_time"] as? String).flatMap(Double.init) } == [0.5, 1.5, 2])
    }

    @Test("--start 1 --duration 2: 50 frames, 2 s of audio, the cues and chapters of the range; named after it")
    func startDuration() throws {
        let s = try Scratch()
        let input = try s.copy(Self.clip)
        let r = try Upres.run([input, "--start", "1", "--duration", "2", "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.listing == ["clip.mkv", "clip.upres-x2.1s-3s.mkv"])
        try Self.checkCut(s.file("clip.upres-x2.1s-3s.mkv"), source: input)
    }

    @Test("--to, in one pass (--no-resume) and in segments; the same frames either way")
    func toAndOnePass() throws {
        let s = try Scratch()
        let input = try s.copy(Self.clip)
        let args = ["--start", "00:00:01.000", "--to", "0:03", "--codec", "ffv1", "-q"]
        let seg = try Upres.run([input, "-o", s.file("seg.mkv"), "--segment-seconds", "0.5"] + args, cwd: s.path)
        let one = try Upres.run([input, "-o", s.file("one.mkv"), "--no-resume"] + args, cwd: s.path)
        #expect(seg.status == 0 && one.status == 0, "\(seg.stderr) \(one.stderr)")
        try Self.checkCut(s.file("seg.mkv"), source: input)
        try Self.checkCut(s.file("one.mkv"), source: input)
        #expect(try ResumeTests.frameHashes(s.file("seg.mkv")) == ResumeTests.frameHashes(s.file("one.mkv")))
        // Only a start: to the end of the file.
        let tail = try Upres.run([input, "-o", s.file("tail.mkv"), "--start", "3.5", "-q"], cwd: s.path)
        #expect(tail.status == 0, "\(tail.stderr)")
        #expect(try Probe.frameCount(s.file("tail.mkv")) == 13)
    }

    @Test("--dry-run, the progress total and the JSON events count the frames of the range")
    func counts() throws {
        let s = try Scratch()
        let input = try s.copy(Self.clip)
        let plan = try Upres.run([input, "--start", "1", "--duration", "2", "--dry-run"], cwd: s.path)
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("1s-3s, 50 frames"), "\(plan.stdout)")
        let r = try Upres.run([input, "--start", "1", "--duration", "2", "--progress", "json", "--progress-interval", "0.01"],
                              cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let events = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(Probe.int(events.first { $0["event"] as? String == "start" }?["frames_expected"]) == 50)
        let last = events.last { $0["event"] as? String == "progress" }
        #expect(Probe.int(last?["frames_total"]) == 50 && Probe.int(last?["frames_done"]) == 50)
        // With deinterlacing at field rate: twice as many.
        let il = try Upres.run([DeinterlaceTests.fixture("tagged.mkv"), "-o", s.file("il.mkv"), "--start", "0.5",
                                "--duration", "1", "--deinterlace", "field", "-q"], cwd: s.path)
        #expect(il.status == 0, "\(il.stderr)")
        #expect(try Probe.frameCount(s.file("il.mkv")) == 50)
    }

    @Test("a different range never resumes the job of another; the same range resumes to the same file")
    func resumeIdentity() throws {
        let s = try Scratch()
        let input = try s.copy(ResumeTests.clip)
        let args = ["--start", "2", "--duration", "12", "--codec", "ffv1", "--scale", "4", "--segment-seconds", "1", "-q"]
        let reference = try Upres.run([input, "-o", s.file("ref.mkv")] + args, cwd: s.path)
        #expect(reference.status == 0, "\(reference.stderr)")
        // Killed while paused by the test hook after 60 of 288 frames (two finished 1 s segments).
        let p = try LiveProcess([input, "-o", s.file("out.mkv"), "--upscaler", "lanczos"] + args, cwd: s.path,
                                watch: .stderr, environment: ["UPRES_TEST_PAUSE_AFTER_FRAMES": "60"])
        #expect(p.waitUntilPaused(), "the job pauses after 60 frames")
        p.kill(SIGKILL)
        p.wait()
        #expect(s.listing.contains(".out.mkv.upres"), "the killed job left a resumable state")
        var other = args
        other[1] = "3"
        let changed = try Upres.run([input, "-o", s.file("out.mkv")] + other, cwd: s.path)
        #expect(changed.status == 1)
        #expect(changed.stderr.contains("the settings differ"), "\(changed.stderr)")
        let resumed = try Upres.run([input, "-o", s.file("out.mkv")] + args, cwd: s.path)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Probe.frameCount(s.file("out.mkv")) == 288)
        #expect(try ResumeTests.frameHashes(s.file("out.mkv")) == ResumeTests.frameHashes(s.file("ref.mkv")))
        #expect(try Probe.packetHashes(s.file("out.mkv"), stream: "a:0") == Probe.packetHashes(s.file("ref.mkv"), stream: "a:0"))
    }

    @Test("bad ranges are refused clearly, nothing written", arguments: [
        (["--start", "9"], 1, "beyond the end of the video"),
        (["--start", "1", "--duration", "0"], 2, "--duration must be more than 0"),
        (["--duration", "1", "--to", "2"], 2, "either --duration or --to"),
        (["--start", "1:75"], 2, "'1:75' is not a time"),
        (["--start=-1"], 2, "'-1' is not a time"),
        (["--start", "2", "--to", "1.5"], 2, "--to (1.5s) must be after --start (2s)"),
        (["--duration", "ten"], 2, "'ten' is not a time"),
    ])
    func refused(_ args: [String], _ status: Int32, _ message: String) throws {
        let s = try Scratch()
        let input = try s.copy(Self.clip)
        let r = try Upres.run([input] + args, cwd: s.path)
        #expect(r.status == status, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        if status == 1 { #expect(r.stderr.contains("clip.mkv")) }
        #expect(s.listing == ["clip.mkv"])
    }
}
