import Foundation
import Testing

/// Bad input gets a one-line error naming the file and the cause, a non-zero exit code,
/// and no output file left behind.
@Suite("Bad input is refused clearly")
struct BadInputTests {
    let fx = Fixtures.shared

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let args: @Sendable (Scratch, Fixtures) throws -> [String]
        let status: Int32
        let mentions: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "missing file", args: { _, _ in ["missing.mp4"] }, status: 1, mentions: ["missing.mp4", "no such file"]),
        Case(name: "directory", args: { s, _ in
            try FileManager.default.createDirectory(atPath: s.file("clips"), withIntermediateDirectories: true)
            return ["clips"] }, status: 1, mentions: ["clips", "no video or image files"]),
        Case(name: "text file", args: { s, f in [try s.copy(f.path("notes.mp4"))] }, status: 1,
             mentions: ["notes.mp4", "not a video"]),
        Case(name: "audio only", args: { s, f in [try s.copy(f.path("audio.wav"))] }, status: 1,
             mentions: ["audio.wav", "no video stream"]),
        Case(name: "truncated header", args: { s, f in
            let data = try Data(contentsOf: URL(fileURLWithPath: f.path("cfr.mp4")))
            try data.prefix(2000).write(to: URL(fileURLWithPath: s.file("cut.mp4")))
            return ["cut.mp4"] }, status: 1, mentions: ["cut.mp4", "damaged or truncated"]),
        Case(name: "unwritable output", args: { s, f in [try s.copy(f.path("cfr.mp4")), "-o", "/proc/out.mp4"] },
             status: 1, mentions: ["/proc/out.mp4", "cannot write"]),
        Case(name: "missing output folder", args: { s, f in [try s.copy(f.path("cfr.mp4")), "-o", "nowhere/out.mp4"] },
             status: 1, mentions: ["nowhere/out.mp4", "does not exist"]),
        Case(name: "unknown container", args: { s, f in [try s.copy(f.path("cfr.mp4")), "-o", "out.xyz"] },
             status: 1, mentions: ["out.xyz", "unknown output container"]),
        Case(name: "unknown codec", args: { s, f in [try s.copy(f.path("cfr.mp4")), "--codec", "h999"] },
             status: 1, mentions: ["unknown video encoder 'h999'"]),
        Case(name: "codec the container cannot hold", args: { s, f in [try s.copy(f.path("cfr.mp4")), "-o", "o.webm"] + ["--codec", "libx264"] },
             status: 1, mentions: ["o.webm", "cannot hold libx264"]),
        Case(name: "unknown encoder option", args: { s, f in [try s.copy(f.path("cfr.mp4")), "--encoder-opt", "speed=9"] },
             status: 1, mentions: ["no option 'speed'"]),
        Case(name: "output is the input", args: { s, f in [try s.copy(f.path("cfr.mp4")), "-o", "cfr.mp4", "--overwrite"] },
             status: 1, mentions: ["cfr.mp4", "is the input"]),
        Case(name: "invalid scale", args: { s, f in [try s.copy(f.path("cfr.mp4")), "--scale", "5"] },
             status: 2, mentions: ["--scale must be 2, 3 or 4"]),
        Case(name: "scale and width", args: { s, f in [try s.copy(f.path("cfr.mp4")), "--scale", "2", "--width", "800"] },
             status: 2, mentions: ["either --scale or --width"]),
        Case(name: "unknown flag", args: { s, f in [try s.copy(f.path("cfr.mp4")), "--bogus"] },
             status: 2, mentions: ["--bogus"]),
    ]

    @Test("is refused", arguments: cases)
    func refused(_ c: Case) throws {
        let s = try Scratch()
        let args = try c.args(s, fx)
        let before = s.listing
        let r = try Upres.run(args + ["--progress", "plain"], cwd: s.path)
        #expect(r.status == c.status, "\(c.name): \(r.stderr)")
        for m in c.mentions { #expect(r.stderr.contains(m), "\(c.name): '\(m)' not in: \(r.stderr)") }
        if c.status == 1 {
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "one line: \(r.stderr)")
            #expect(lines.first?.hasPrefix("upres: error: ") == true)
        }
        #expect(s.listing == before, "nothing written: \(s.listing)")
    }
}

@Suite("Nothing is lost or half-written")
struct SafetyTests {
    let fx = Fixtures.shared

    @Test("An existing output is never overwritten without --overwrite (it is skipped, as done)")
    func noOverwrite() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        let out = s.file("cfr.upres-x2.mp4")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: out))
        var r = try Upres.run([input, "-q"], cwd: s.path)
        #expect(r.status == 0)
        #expect(r.stderr.contains("skipped") && r.stderr.contains("--overwrite"), "\(r.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious")
        r = try Upres.run([input, "-q", "--overwrite"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Probe.frameCount(out) == 48)
        #expect(s.listing == ["cfr.mp4", "cfr.upres-x2.mp4"])
    }

    @Test("A truncated file is processed as far as it decodes, with a warning")
    func truncatedInput() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("truncated.mkv"))
        let r = try Upres.run([input, "-o", s.file("out.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("warning"))
        #expect(r.stderr.contains("frames recovered"))
        let frames = try Probe.frameCount(s.file("out.mkv"))
        #expect(frames > 0 && frames < 48)
        #expect(r.stderr.contains("\(frames) frames recovered"), "\(r.stderr)")
    }

    @Test("Ctrl-C finishes a playable NAME.partial file, never the output name, no temporary file, exit 130")
    func interrupted() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("long.mkv"))
        // The test hook pauses the job after 10 frames; SIGINT wakes it and it stops gracefully.
        let p = try LiveProcess([input, "--scale", "4", "--codec", "ffv1", "-o", s.file("out.mkv")], cwd: s.path,
                                watch: .stderr, environment: ["UPRES_TEST_PAUSE_AFTER_FRAMES": "10"])
        #expect(p.waitUntilPaused(), "the job pauses after 10 frames")
        #expect(s.listing.contains(".out.mkv.upres"), "the work folder exists while running")
        p.kill(SIGINT)
        let status = p.wait()
        #expect(status == 130)
        // The work folder stays: the job resumes where it stopped.
        #expect(s.listing == [".out.mkv.upres", "long.mkv", "out.partial.mkv"])
        // The frames done before the stop, decodable to the end (trailer written).
        let frames = try Probe.frameCount(s.file("out.partial.mkv"))
        #expect(frames > 0 && frames < 240, "\(frames) frames")
    }

    @Test("--help and the man page describe the same options", arguments: ["upscale", "bench", "models"])
    func helpMatchesManPage(_ command: String) throws {
        let r = try Shell.run(Upres.binary, [command, "--help"])
        #expect(r.status == 0)
        let man = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("man/upres.1").path
        let page = try String(contentsOfFile: man, encoding: .utf8)
        #expect(page.contains(command))
        let flags = Set(r.stdout.split(whereSeparator: { " ,\n".contains($0) })
            .filter { $0.hasPrefix("--") && $0.count > 2 }.map { String($0.dropFirst(2)) })
        #expect(!flags.isEmpty)
        for f in flags where f != "help" {
            #expect(page.contains(" -\(f)"), "man page lacks --\(f): run `make man`")
        }
    }
}
