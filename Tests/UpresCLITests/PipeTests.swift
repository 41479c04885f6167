import Foundation
import Testing

/// `-` as the input (stdin) and `-o - -f NAME` (stdout), and raw YUV4MPEG outputs, for real:
/// ffmpeg writing into upres and reading from it through shell pipes.
@Suite("Pipes and raw frames")
struct PipeTests {
    /// 2 s of 64x48 at 24 fps with 2 s of AAC.
    static let source: String = {
        let dir = NSTemporaryDirectory() + "upres-pipe-fixture-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24:duration=2", "-f", "lavfi", "-i",
                           "sine=frequency=440:duration=2:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast",
                           "-pix_fmt", "yuv420p", "-c:a", "aac", "src.mkv"], cwd: dir)
        return dir + "/src.mkv"
    }()

    static let ffmpeg = Shell.which("ffmpeg")

    static func bash(_ script: String, cwd: String) throws -> RunResult {
        try Shell.run("/bin/bash", ["-c", "set -o pipefail; " + script], cwd: cwd,
                      environment: ["UP": Upres.binary, "FF": ffmpeg, "SRC": source])
    }

    /// Decoded video frames and audio packets (ffprobe).
    static func counts(_ file: String) throws -> (video: Int, audio: Int) { try ContainerFuzzTests.counts(file) }

    @Test("stdin -> stdout: ffmpeg | upres - -o - -f nut | ffmpeg keeps every frame and audio packet",
          arguments: ["nut", "matroska", "mpegts"])
    func roundTrip(_ format: String) throws {
        let s = try Scratch("pipe-\(format)")
        let r = try Self.bash("\"$FF\" -nostdin -v error -i \"$SRC\" -c copy -f \(format) - | \"$UP\" - -o - -f nut --upscaler lanczos "
                              + "--progress plain --progress-interval 0.01 2>upres.txt | \"$FF\" -v error -i - -c copy out.mkv", cwd: s.path)
        #expect(r.status == 0, "\(r.stderr) \((try? String(contentsOfFile: s.file("upres.txt"), encoding: .utf8)) ?? "")")
        let theirs = try Self.counts(Self.source), ours = try Self.counts(s.file("out.mkv"))
        #expect(theirs.video == 48 && theirs.audio > 80)
        #expect(ours.video == theirs.video && ours.audio == theirs.audio, "\(ours) vs \(theirs)")
        let v = try Probe.video(s.file("out.mkv"))
        #expect(Probe.int(v["width"]) == 128 && Probe.int(v["height"]) == 96)
        // Messages went to stderr (the stream decoded cleanly above); the progress lines are there.
        let messages = try String(contentsOfFile: s.file("upres.txt"), encoding: .utf8)
        #expect(messages.contains("upres: done: -: 48 frames"), "\(messages)")
        #expect(s.listing == ["out.mkv", "upres.txt"], "no work folder or temporary file: \(s.listing)")
    }

    @Test("stdin to a file and a file to stdout; yuv4mpegpipe in; a file named - is neither read nor replaced")
    func oneSidePipes() throws {
        let s = try Scratch()
        try "not a video".write(toFile: s.file("-"), atomically: true, encoding: .utf8)
        let a = try Self.bash("\"$FF\" -nostdin -v error -i \"$SRC\" -map 0:v -pix_fmt yuv420p -f yuv4mpegpipe - | "
                              + "\"$UP\" - -o from-y4m.mkv --upscaler lanczos -q", cwd: s.path)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(try Self.counts(s.file("from-y4m.mkv")).video >= 48)
        let b = try Self.bash("\"$UP\" \"$SRC\" -o - -f matroska --upscaler lanczos -q > to-stdout.mkv", cwd: s.path)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try Self.counts(s.file("to-stdout.mkv")) == Self.counts(Self.source))
        // The existing-output guard is not about stdout: the run above wrote the stream, not skipped it.
        #expect(!b.stderr.contains("skipped"))
        #expect(try String(contentsOfFile: s.file("-"), encoding: .utf8) == "not a video")
        // -f also takes an extension; YUV4MPEG into a pipe.
        let y = try Self.bash("\"$UP\" \"$SRC\" -o - -f y4m --upscaler lanczos -q | \"$FF\" -v error -i - -c:v ffv1 raw.mkv", cwd: s.path)
        #expect(y.status == 0, "\(y.stderr)")
        #expect(try Self.counts(s.file("raw.mkv")).video == 48)
        // MP4 into a pipe is fragmented.
        let c = try Self.bash("\"$UP\" \"$SRC\" -o - -f mp4 --upscaler lanczos -q | \"$FF\" -v error -i - -c copy frag.mkv", cwd: s.path)
        #expect(c.status == 0, "\(c.stderr)")
        #expect(try Self.counts(s.file("frag.mkv")) == Self.counts(Self.source))
    }

    @Test("-o out.y4m writes raw frames in a pixel format YUV4MPEG takes, at the source's rate")
    func yuv4mpeg() throws {
        let s = try Scratch()
        let r = try Upres.run([Self.source, "-o", "out.y4m"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipped audio stream #1 (aac): the yuv4mpegpipe container holds the video only"), "\(r.stderr)")
        let v = try Probe.video(s.file("out.y4m"))
        #expect(v["codec_name"] as? String == "rawvideo" && v["pix_fmt"] as? String == "yuv420p")
        #expect(Probe.int(v["width"]) == 128 && Probe.int(v["height"]) == 96 && v["r_frame_rate"] as? String == "24/1")
        #expect(try Probe.frameCount(s.file("out.y4m")) == 48)
        #expect(s.listing == ["out.y4m"], "one pass, no work folder: \(s.listing)")
        // The same pictures as a lossless file.
        #expect(try Upres.run([Self.source, "-o", "ref.mkv", "--codec", "ffv1"], cwd: s.path).status == 0)
        #expect(try ResumeTests.frameHashes(s.file("out.y4m")).map { $0.split(separator: ",").last! }
                == ResumeTests.frameHashes(s.file("ref.mkv")).map { $0.split(separator: ",").last! })
        // Formats YUV4MPEG has no word for are converted (RGB -> 4:4:4); 10-bit stays 10-bit.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24:duration=0.5", "-c:v", "ffv1", "-pix_fmt", "bgr0", "rgb.mkv"], cwd: s.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24:duration=0.5", "-c:v", "ffv1", "-pix_fmt", "yuv420p10le", "ten.mkv"], cwd: s.path)
        for (input, expected) in [("rgb.mkv", "yuv444p"), ("ten.mkv", "yuv420p10le")] {
            let out = input + ".y4m"
            let t = try Upres.run([input, "-o", out], cwd: s.path)
            #expect(t.status == 0, "\(t.stderr)")
            #expect(try Probe.video(s.file(out))["pix_fmt"] as? String == expected, "\(input)")
            #expect(try Probe.frameCount(s.file(out)) == 12)
        }
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        let args: [String]
        let status: Int32
        let mentions: String
        var testDescription: String { args.joined(separator: " ") }
    }

    static let refusals: [Refusal] = [
        Refusal(args: ["SRC", "-o", "-"], status: 2, mentions: "-o - writes to stdout: name the container with -f/--format"),
        Refusal(args: ["-"], status: 2, mentions: "reading stdin (-) needs -o"),
        Refusal(args: ["SRC", "-o", "-", "-f", "bogus"], status: 2, mentions: "unknown container 'bogus'"),
        Refusal(args: ["SRC", "-o", "-", "-f", "nut", "--progress", "json"], status: 2, mentions: "add --progress-file PATH"),
        Refusal(args: ["-", "-o", "x.mkv", "--segments", "2", "--segment", "1"], status: 2, mentions: "--segments does not apply to pipes"),
        Refusal(args: ["SRC", "SRC", "-o", "-", "-f", "nut"], status: 2, mentions: "--output names one file"),
        Refusal(args: ["SRC", "-o", "x.y4m", "--codec", "libx264"], status: 1, mentions: "holds raw frames only"),
        Refusal(args: ["SRC", "-o", "x.y4m", "--pix-fmt", "nv12"], status: 1, mentions: "does not take pixel format nv12"),
    ]

    @Test("pipe and YUV4MPEG mistakes are refused clearly, writing nothing", arguments: refusals)
    func refused(_ c: Refusal) throws {
        let s = try Scratch()
        let r = try Upres.run(c.args.map { $0 == "SRC" ? Self.source : $0 }, cwd: s.path)
        #expect(r.status == c.status, "\(r.stderr)")
        #expect(r.stderr.contains(c.mentions), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(s.listing.isEmpty, "\(s.listing)")
    }

    @Test("a reader that goes away ends upres with a Broken pipe error (exit 1), not a signal")
    func brokenPipe() throws {
        let s = try Scratch()
        let r = try Self.bash("\"$UP\" \"$SRC\" -o - -f nut --codec ffv1 --upscaler lanczos --scale 4 -q 2>err.txt | head -c 1000 > /dev/null; "
                              + "echo \"${PIPESTATUS[0]}\"", cwd: s.path)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "exit status \(r.stdout)")
        let err = try String(contentsOfFile: s.file("err.txt"), encoding: .utf8)
        #expect(err.contains("upres: error:") && err.contains("Broken pipe"), "\(err)")
    }
}
