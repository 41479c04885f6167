import Foundation

/// The fixture folder, removed when the test process exits.
nonisolated(unsafe) private var fixtureFolderToRemove: String?

/// Test media made once per test run with the ffmpeg CLI (installed by `make deps`):
/// small, real files covering what upres must preserve.
final class Fixtures: Sendable {
    static let shared: Fixtures = {
        do { return try Fixtures() } catch { fatalError("cannot build test fixtures: \(error)") }
    }()

    let dir: String

    private init() throws {
        dir = NSTemporaryDirectory() + "upres-fixtures-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        fixtureFolderToRemove = dir
        atexit { if let d = fixtureFolderToRemove { try? FileManager.default.removeItem(atPath: d) } }
        let ff = { (args: [String]) in try Shell.ffmpeg(args, cwd: self.dir) }
        let src = ["-f", "lavfi", "-i"]

        // Constant frame rate MP4: 48 frames, two audio tracks (two rates, two languages), tags.
        try ff(src + ["testsrc2=size=320x180:rate=24:duration=2"] + src + ["sine=frequency=440:duration=2:sample_rate=48000"]
               + src + ["sine=frequency=660:duration=2:sample_rate=44100",
                        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
                        "-metadata", "title=Fixture clip", "-metadata:s:a:0", "language=eng",
                        "-metadata:s:a:1", "language=fra", "-colorspace", "bt709", "-color_primaries", "bt709",
                        "-color_trc", "bt709", "-color_range", "tv", "cfr.mp4"])
        // MKV with a subtitle track, chapters, an attachment (font) and container title.
        try "1\n00:00:00,000 --> 00:00:01,000\nHello\n\n2\n00:00:01,000 --> 00:00:02,000\nWorld\n"
            .write(toFile: "\(dir)/subs.srt", atomically: true, encoding: .utf8)
        try (";FFMETADATA1\ntitle=Chaptered\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=One\n"
             + "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Two\n")
            .write(toFile: "\(dir)/chapters.txt", atomically: true, encoding: .utf8)
        try Data((0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: URL(fileURLWithPath: "\(dir)/font.ttf"))
        try ff(["-i", "cfr.mp4", "-i", "subs.srt", "-i", "chapters.txt", "-map", "0", "-map", "1",
                "-map_metadata", "2", "-map_chapters", "2", "-c", "copy", "-c:s", "srt",
                "-metadata:s:s:0", "language=deu", "-attach", "font.ttf",
                "-metadata:s:t", "mimetype=application/x-truetype-font", "full.mkv"])
        // Variable frame rate: every 4th frame is followed by a gap of two frame times.
        try ff(src + ["testsrc2=size=320x180:rate=24:duration=3"] + src + ["sine=frequency=300:duration=3",
               "-vf", "setpts='(N+floor(N/4)*2)/24/TB'", "-fps_mode", "passthrough", "-c:v", "libx264",
               "-preset", "ultrafast", "-c:a", "aac", "-shortest", "vfr.mkv"])
        // 10-bit 4:2:0 and 4:2:2.
        try ff(src + ["testsrc2=size=320x180:rate=24:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                      "-pix_fmt", "yuv420p10le", "-color_range", "tv", "-colorspace", "bt709", "ten420.mkv"])
        try ff(src + ["testsrc2=size=320x180:rate=24:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                      "-pix_fmt", "yuv422p10le", "ten422.mkv"])
        // Odd size, lossless.
        try ff(src + ["testsrc2=size=320x180:rate=24:duration=1", "-vf", "scale=321:181", "-c:v", "ffv1",
                      "-pix_fmt", "yuv420p", "odd.mkv"])
        // Phone video: rotation in the display matrix (set on a stream copy in FFmpeg 5.1).
        try ff(src + ["testsrc2=size=320x180:rate=30:duration=1", "-c:v", "libx264", "-preset", "ultrafast", "plain.mp4"])
        try ff(["-i", "plain.mp4", "-c", "copy", "-metadata:s:v:0", "rotate=90", "rotated.mp4"])
        // Non-square pixels (anamorphic SD).
        try ff(src + ["testsrc2=size=352x288:rate=25:duration=1", "-vf", "setsar=16/11", "-c:v", "libx264",
                      "-preset", "ultrafast", "anamorphic.mkv"])
        // Interlaced SD with top-left chroma siting.
        try ff(src + ["testsrc2=size=720x576:rate=25:duration=1", "-vf", "setfield=tff", "-c:v", "libx264",
                      "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264-params", "tff=1",
                      "-chroma_sample_location", "topleft", "interlaced.mkv"])
        // Truncated: the first 60 KB of the MKV (about a third of it).
        let full = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/full.mkv"))
        try full.prefix(60_000).write(to: URL(fileURLWithPath: "\(dir)/truncated.mkv"))
        // A longer clip for interruption tests (10 s).
        try ff(src + ["testsrc2=size=640x360:rate=24:duration=10", "-c:v", "libx264", "-preset", "ultrafast", "long.mkv"])
        // Images: a photo-like PNG, a flat colour, a sequence.
        try ff(src + ["testsrc2=size=200x120", "-frames:v", "1", "photo.png"])
        try ff(src + ["color=c=0xC04020:size=200x120", "-frames:v", "1", "flat.png"])
        try FileManager.default.createDirectory(atPath: "\(dir)/frames", withIntermediateDirectories: true)
        try ff(src + ["testsrc2=size=160x90:rate=10:duration=1", "frames/%05d.png"])
        // Not video.
        try "just some text\n".write(toFile: "\(dir)/notes.mp4", atomically: true, encoding: .utf8)
        try ff(src + ["sine=duration=1", "audio.wav"])
    }

    func path(_ name: String) -> String { "\(dir)/\(name)" }
}
