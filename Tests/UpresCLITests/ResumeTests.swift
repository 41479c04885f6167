import Foundation
import Testing

/// Segments and resume, for real: SIGKILL at random points, reruns, and the final file compared
/// with an uninterrupted run.
@Suite("Interrupted jobs resume", .serialized)
struct ResumeTests {
    /// 16 s, a keyframe every 0.5 s, with audio: many segments at --segment-seconds 1.
    static let clip: String = {
        let dir = NSTemporaryDirectory() + "upres-resume-fixture-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/clip.mkv"
        if !FileManager.default.fileExists(atPath: path) {
            try? Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24:duration=16", "-f", "lavfi",
                               "-i", "sine=frequency=440:duration=16:sample_rate=48000", "-c:v", "libx264", "-preset",
                               "ultrafast", "-g", "12", "-c:a", "aac", "clip.mkv"], cwd: dir)
        }
        return path
    }()

    static let args = ["--codec", "ffv1", "--upscaler", "lanczos", "--segment-seconds", "1", "-q"]

    static func frameHashes(_ file: String) throws -> [String] {
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-i", file, "-map", "0:v", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw FixtureError("framemd5 \(file): \(r.stderr)") }
        return r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    static func start(_ args: [String], cwd: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Upres.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "interactive=no"
        p.environment = env
        try p.run()
        return p
    }

    @Test("SIGKILL at random points, several times: the resumed file equals an uninterrupted run")
    func killAndResume() throws {
        let s = try Scratch()
        let input = try s.copy(Self.clip)
        let reference = try Upres.run([input, "-o", s.file("ref.mkv")] + Self.args, cwd: s.path)
        #expect(reference.status == 0, "\(reference.stderr)")

        // Fixed seed: the kill points are random but the same on every run of the test.
        var seed: UInt64 = 20261201
        func next() -> Double { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Double(seed >> 40) / Double(1 << 24) }
        // JSON progress events on stdout, one per frame: each run is killed when it has done a
        // random number of frames more than its first event showed.
        let live = Self.args.filter { $0 != "-q" } + ["--progress", "json", "--progress-interval", "0.001"]
        var kills = 0
        for _ in 0..<6 {
            let p = try LiveProcess([input, "-o", s.file("out.mkv")] + live, cwd: s.path, watch: .stdout)
            var target: Int? = nil
            let due = p.waitForLine { line in
                guard let done = LiveProcess.framesDone(line) else { return false }
                if target == nil { target = done + 10 + Int(next() * 60) }
                return done >= target!
            }
            if due != nil { p.kill(SIGKILL); kills += 1 }
            p.wait()
            if FileManager.default.fileExists(atPath: s.file("out.mkv")) { break }
        }
        #expect(kills >= 2, "the job was killed several times (\(kills))")
        if !FileManager.default.fileExists(atPath: s.file("out.mkv")) {
            let last = try Upres.run([input, "-o", s.file("out.mkv")] + Self.args, cwd: s.path)
            #expect(last.status == 0, "\(last.stderr)")
        }
        #expect(try Probe.frameCount(s.file("out.mkv")) == 384)
        #expect(try Probe.framePTS(s.file("out.mkv")) == Probe.framePTS(s.file("ref.mkv")))
        #expect(try Self.frameHashes(s.file("out.mkv")) == Self.frameHashes(s.file("ref.mkv")))
        #expect(try Probe.packetHashes(s.file("out.mkv"), stream: "a:0") == Probe.packetHashes(s.file("ref.mkv"), stream: "a:0"))
        #expect(s.listing == ["clip.mkv", "out.mkv", "ref.mkv"], "work folder removed at the end")
    }

    @Test("changed settings refuse to mix with a resumable job; --restart starts over; a second upres refuses")
    func refusals() throws {
        let s = try Scratch()
        let input = try s.copy(Self.clip)
        // Paused by the test hook after 30 frames: it holds the lock while the second one runs.
        let p = try LiveProcess([input, "-o", s.file("out.mkv")] + Self.args, cwd: s.path, watch: .stderr,
                                environment: ["UPRES_TEST_PAUSE_AFTER_FRAMES": "30"])
        #expect(p.waitUntilPaused(), "the job pauses after 30 frames")
        let second = try Upres.run([input, "-o", s.file("out.mkv")] + Self.args, cwd: s.path)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another upres"), "\(second.stderr)")
        p.kill(SIGKILL)
        p.wait()
        #expect(s.listing.contains(".out.mkv.upres"), "the killed job left a resumable state")

        let changed = try Upres.run([input, "-o", s.file("out.mkv"), "--scale", "3"] + Self.args, cwd: s.path)
        #expect(changed.status == 1)
        #expect(changed.stderr.contains("--restart"), "\(changed.stderr)")
        #expect(!s.listing.contains("out.mkv"))

        let restarted = try Upres.run([input, "-o", s.file("out.mkv"), "--scale", "3", "--restart"] + Self.args, cwd: s.path)
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(try Probe.frameCount(s.file("out.mkv")) == 384)
        #expect(s.listing == ["clip.mkv", "out.mkv"])
    }
}

@Suite("Segments for many machines")
struct SegmentsTests {
    @Test("N segments run as parallel processes and joined equal a single run (frames, pts, pixels, audio)")
    func parallelSegments() throws {
        let s = try Scratch()
        let input = try s.copy(ResumeTests.clip)
        let args = ["--codec", "ffv1", "--upscaler", "lanczos", "-q"]
        let single = try Upres.run([input, "-o", s.file("one.mkv")] + args, cwd: s.path)
        #expect(single.status == 0, "\(single.stderr)")
        let n = 3
        let procs = try (1...n).map { k in
            try ResumeTests.start([input, "-o", s.file("out.mkv"), "--segments", "\(n)", "--segment", "\(k)"] + args, cwd: s.path)
        }
        for p in procs { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        #expect(s.listing.filter { $0.hasPrefix("out.mkv.segment-") }.count == n)
        let missing = try Upres.run(["join", input, "-o", s.file("x.mkv"), "--segments", "4"] + args, cwd: s.path)
        #expect(missing.status == 1 && missing.stderr.contains("missing"), "a join without its segments is refused: \(missing.stderr)")
        let join = try Upres.run(["join", input, "-o", s.file("out.mkv"), "--segments", "\(n)"] + args, cwd: s.path)
        #expect(join.status == 0, "\(join.stderr)")
        #expect(try Probe.frameCount(s.file("out.mkv")) == 384)
        #expect(try Probe.framePTS(s.file("out.mkv")) == Probe.framePTS(s.file("one.mkv")))
        #expect(try ResumeTests.frameHashes(s.file("out.mkv")) == ResumeTests.frameHashes(s.file("one.mkv")))
        #expect(try Probe.packetHashes(s.file("out.mkv"), stream: "a:0") == Probe.packetHashes(s.file("one.mkv"), stream: "a:0"))
    }
}
