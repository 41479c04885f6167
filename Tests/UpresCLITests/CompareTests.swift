import Foundation
import Testing

/// The compare fixture folder, removed when the test process exits.
nonisolated(unsafe) private var compareFolderToRemove: String?

/// Small clips for `upres compare` and `upres preview`, made once with the ffmpeg CLI.
final class CompareFixtures: Sendable {
    static let shared: CompareFixtures = {
        do { return try CompareFixtures() } catch { fatalError("cannot build compare fixtures: \(error)") }
    }()
    let dir: String

    private init() throws {
        dir = NSTemporaryDirectory() + "upres-compare-fixtures-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        compareFolderToRemove = dir
        atexit { if let d = compareFolderToRemove { try? FileManager.default.removeItem(atPath: d) } }
        let ff = { (args: [String]) in try Shell.ffmpeg(args, cwd: self.dir) }
        // A lossless original, its H.264 copy (same container, so FFmpeg's own CLI pairs the frames
        // right), the same H.264 frames in MP4 (another time base), a smaller copy, a still.
        try ff(["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=1", "-c:v", "ffv1", "-pix_fmt", "yuv420p", "ref.mkv"])
        try ff(["-i", "ref.mkv", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "h264.mkv"])
        try ff(["-i", "h264.mkv", "-c", "copy", "h264.mp4"])
        try ff(["-i", "ref.mkv", "-vf", "scale=80:45", "-c:v", "ffv1", "small.mkv"])
        try ff(["-f", "lavfi", "-i", "testsrc2=size=160x90", "-frames:v", "1", "still.png"])
        try ff(["-i", "still.png", "-q:v", "9", "still.jpg"])
        // For preview: a 160x90 clip and its 320x180 original.
        try ff(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24:duration=0.5", "-c:v", "ffv1", "-pix_fmt", "yuv420p", "hr.mkv"])
        try ff(["-i", "hr.mkv", "-vf", "scale=160:90:flags=lanczos", "-c:v", "ffv1", "lr.mkv"])
        try ff(["-f", "lavfi", "-i", "sine=duration=0.5", "audio.wav"])
    }

    func path(_ name: String) -> String { "\(dir)/\(name)" }
}

/// Runs the upres binary with exactly these arguments (no pinned upscaler).
private func upres(_ args: [String], cwd: String) throws -> RunResult { try Shell.run(Upres.binary, args, cwd: cwd) }

private func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FixtureError("not a JSON object: \(line)")
        }
        return obj
    }
}

/// FFmpeg's own summary: `PSNR y:.. u:.. v:.. average:..` and `SSIM Y:.. U:.. V:.. All:..`.
private func ffmpegQuality(_ args: [String], filter: String, cwd: String) throws -> [String: Double] {
    let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-hide_banner"] + args + ["-lavfi", filter, "-f", "null", "-"], cwd: cwd)
    guard r.status == 0 else { throw FixtureError("ffmpeg: \(r.stderr)") }
    var out: [String: Double] = [:]
    for line in r.stderr.split(separator: "\n") {
        let kind = line.contains("] PSNR ") ? "psnr" : line.contains("] SSIM ") ? "ssim" : nil
        guard let kind else { continue }
        for field in line.split(separator: " ") {
            let kv = field.split(separator: ":")
            if kv.count == 2, let v = Double(kv[1]) { out["\(kind)_\(kv[0].lowercased())"] = v }
        }
    }
    return out
}

/// An RGB24 picture decoded from a PNG by the ffmpeg CLI.
struct Picture {
    let width: Int, height: Int
    let bytes: [UInt8]
    init(png: String, cwd: String) throws {
        let v = try Probe.video(png)
        width = Probe.int(v["width"]) ?? 0
        height = Probe.int(v["height"]) ?? 0
        let raw = png + ".rgb"
        try Shell.ffmpeg(["-i", png, "-f", "rawvideo", "-pix_fmt", "rgb24", raw], cwd: cwd)
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
    }
    func pixel(_ x: Int, _ y: Int) -> UInt32 {
        let i = 3 * (y * width + x)
        return UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
    }
    /// Pixels in a rectangle for which `test` holds.
    func count(x: Int, y: Int, w: Int, h: Int, _ test: (UInt32) -> Bool) -> Int {
        var n = 0
        for j in max(0, y)..<min(height, y + h) { for i in max(0, x)..<min(width, x + w) where test(pixel(i, j)) { n += 1 } }
        return n
    }
    /// Dark pixels (text on a light background).
    func dark(x: Int, y: Int, w: Int, h: Int) -> Int {
        count(x: x, y: y, w: w, h: h) { p in (Int(p >> 16) + Int((p >> 8) & 0xFF) + Int(p & 0xFF)) < 300 }
    }
    /// Mean absolute difference over a rectangle against another picture's rectangle, leaving out
    /// the pixels (relative to the rectangle) for which `skip` holds.
    func difference(_ other: Picture, x: Int, y: Int, ox: Int, oy: Int, w: Int, h: Int,
                    skip: (Int, Int) -> Bool = { _, _ in false }) -> Double {
        var total = 0, n = 0
        for j in 0..<h {
            for i in 0..<w where !skip(i, j) {
                for c in 0..<3 {
                    total += abs(Int(bytes[3 * ((y + j) * width + x + i) + c]) - Int(other.bytes[3 * ((oy + j) * other.width + ox + i) + c]))
                    n += 1
                }
            }
        }
        return Double(total) / Double(max(1, n))
    }
}

@Suite("upres compare: PSNR and SSIM against a reference")
struct CompareTests {
    let fx = CompareFixtures.shared

    @Test("agrees with FFmpeg's psnr and ssim filters on an H.264 copy of a lossless clip; JSON lines have the keys")
    func agreesWithFFmpeg() throws {
        let s = try Scratch()
        let expected = try ffmpegQuality(["-i", fx.path("h264.mkv"), "-i", fx.path("ref.mkv")], filter: "[0][1]psnr;[0][1]ssim", cwd: s.path)
        #expect(expected.count >= 8, "\(expected)")
        let r = try upres(["compare", fx.path("h264.mkv"), fx.path("ref.mkv"), "--json"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try jsonLines(r.stdout)
        let frames = lines.filter { $0["type"] as? String == "frame" }
        #expect(frames.count == 24)
        for f in frames {
            for key in ["input", "frame", "pts_time", "psnr_y", "psnr_u", "psnr_v", "psnr_avg", "ssim_y", "ssim_u", "ssim_v", "ssim_all"] {
                #expect(f[key] != nil && !(f[key] is NSNull), "\(key) missing in \(f)")
            }
        }
        #expect(frames.map { $0["frame"] as? Int } == (0..<24).map { $0 })
        let summary = try #require(lines.last { $0["type"] as? String == "summary" })
        for (ours, theirs) in [("psnr_y", "psnr_y"), ("psnr_u", "psnr_u"), ("psnr_v", "psnr_v"), ("psnr_avg", "psnr_average")] {
            let a = try #require(summary[ours] as? Double), b = try #require(expected[theirs])
            #expect(abs(a - b) <= 0.02, "\(ours): upres \(a), ffmpeg \(b)")
        }
        for (ours, theirs) in [("ssim_y", "ssim_y"), ("ssim_u", "ssim_u"), ("ssim_v", "ssim_v"), ("ssim_all", "ssim_all")] {
            let a = try #require(summary[ours] as? Double), b = try #require(expected[theirs])
            #expect(abs(a - b) <= 0.002, "\(ours): upres \(a), ffmpeg \(b)")
        }
        #expect((summary["psnr_y"] as? Double ?? 0) < 45, "a compressed copy is not lossless")

        // The plain-text table: a row per frame and the same summary.
        let text = try upres(["compare", fx.path("h264.mkv"), fx.path("ref.mkv")], cwd: s.path)
        #expect(text.status == 0)
        #expect(text.stdout.split(separator: "\n").filter { $0.hasPrefix("    ") }.count == 24)
        #expect(text.stdout.contains(String(format: "PSNR y %.3f", summary["psnr_y"] as! Double)), "\(text.stdout)")
    }

    @Test("pairs frames by time across containers: the MP4 copy (another time base) measures the same")
    func pairsByTime() throws {
        let s = try Scratch()
        let mkv = try jsonLines(try upres(["compare", fx.path("h264.mkv"), fx.path("ref.mkv"), "--json"], cwd: s.path).stdout).last!
        let mp4 = try upres(["compare", fx.path("h264.mp4"), fx.path("ref.mkv"), "--json"], cwd: s.path)
        #expect(mp4.status == 0, "\(mp4.stderr)")
        let m = try jsonLines(mp4.stdout).last!
        #expect(m["frames"] as? Int == 24)
        #expect(abs((m["psnr_y"] as! Double) - (mkv["psnr_y"] as! Double)) < 1e-6)
        #expect(abs((m["ssim_all"] as! Double) - (mkv["ssim_all"] as! Double)) < 1e-6)
    }

    @Test("a size mismatch is an error naming both files and sizes; --scale-to-reference scales with Lanczos")
    func sizeMismatch() throws {
        let s = try Scratch()
        let r = try upres(["compare", fx.path("small.mkv"), fx.path("ref.mkv")], cwd: s.path)
        #expect(r.status == 1)
        for m in ["small.mkv", "ref.mkv", "80x45", "160x90", "--scale-to-reference"] { #expect(r.stderr.contains(m), "\(m): \(r.stderr)") }
        #expect(r.stdout.isEmpty)
        let scaled = try upres(["compare", fx.path("small.mkv"), fx.path("ref.mkv"), "--scale-to-reference", "--json"], cwd: s.path)
        #expect(scaled.status == 0, "\(scaled.stderr)")
        let summary = try jsonLines(scaled.stdout).last!
        #expect(summary["frames"] as? Int == 24)
        let expected = try ffmpegQuality(["-i", fx.path("small.mkv"), "-i", fx.path("ref.mkv")],
                                         filter: "[0]scale=160:90:flags=lanczos+accurate_rnd+full_chroma_int+full_chroma_inp[a];[a][1]psnr",
                                         cwd: s.path)
        let y = try #require(summary["psnr_y"] as? Double), e = try #require(expected["psnr_y"])
        #expect(abs(y - e) <= 0.02, "upres \(y), ffmpeg lanczos \(e)")
    }

    @Test("images: a JPEG against its PNG, compared as BT.601 Y'CbCr 4:4:4")
    func images() throws {
        let s = try Scratch()
        let r = try upres(["compare", fx.path("still.jpg"), fx.path("still.png"), "--json"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try jsonLines(r.stdout).last!
        #expect(summary["frames"] as? Int == 1)
        #expect(summary["pixel_format"] as? String == "yuv444p")
        let y = try #require(summary["psnr_y"] as? Double)
        #expect(y > 20 && y < 50, "\(y)")
        // Identical pictures: infinite PSNR (null in JSON), SSIM 1.
        let same = try jsonLines(try upres(["compare", fx.path("still.png"), fx.path("still.png"), "--json"], cwd: s.path).stdout).last!
        #expect(same["psnr_y"] is NSNull)
        #expect(same["ssim_y"] as? Double == 1)
    }

    @Test("errors name the file and exit 1", arguments: [
        (["nothere.mkv"], ["nothere.mkv", "no such file"]),
        (["audio.wav"], ["audio.wav", "no video stream"]),
    ])
    func errors(_ distorted: [String], _ mentions: [String]) throws {
        let s = try Scratch()
        let args = distorted.map { FileManager.default.fileExists(atPath: fx.path($0)) ? fx.path($0) : $0 }
        let r = try upres(["compare"] + args + [fx.path("ref.mkv")], cwd: s.path)
        #expect(r.status == 1)
        for m in mentions { #expect(r.stderr.contains(m), "\(m): \(r.stderr)") }
    }

    @Test("--plot writes a PNG of the stated size with a line per input in the legend colours and text in the label regions")
    func plot() throws {
        let s = try Scratch()
        for f in ["h264.mkv", "small.mkv", "ref.mkv"] { _ = try s.copy(fx.path(f)) }
        let r = try upres(["compare", "h264.mkv", "small.mkv", "ref.mkv", "--scale-to-reference",
                           "--plot", "psnr.png", "--plot-size", "640x400"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let p = try Picture(png: s.file("psnr.png"), cwd: s.path)
        #expect(p.width == 640 && p.height == 400)
        // Layout (QualityPlot): plot area x 64..620, y 52..(400 - legend 30 - 44); legend band at the bottom.
        let plotBottom = 400 - 30 - 44
        let blue: UInt32 = 0x1F77B4, red: UInt32 = 0xD62728
        for c in [blue, red] {
            #expect(p.count(x: 64, y: 52, w: 556, h: plotBottom - 52) { $0 == c } > 200, "line \(String(c, radix: 16))")
            #expect(p.count(x: 0, y: 400 - 30, w: 640, h: 30) { $0 == c } > 40, "legend swatch \(String(c, radix: 16))")
        }
        #expect(p.dark(x: 0, y: 0, w: 640, h: 28) > 50, "title")
        #expect(p.dark(x: 0, y: 60, w: 56, h: plotBottom - 60) > 50, "y tick labels")
        #expect(p.dark(x: 64, y: plotBottom + 6, w: 556, h: 36) > 50, "x tick labels and caption")
        #expect(p.dark(x: 90, y: 400 - 30, w: 550, h: 30) > 50, "legend names")
        // The compressed copy scores higher than the scaled-up small one: the blue line runs above the red.
        func meanRow(_ c: UInt32) -> Double {
            var sum = 0, n = 0
            for y in 52..<plotBottom { for x in 64..<620 where p.pixel(x, y) == c { sum += y; n += 1 } }
            return Double(sum) / Double(max(n, 1))
        }
        #expect(meanRow(blue) < meanRow(red))
        // An existing plot is not replaced without --overwrite.
        let again = try upres(["compare", "h264.mkv", "ref.mkv", "--plot", "psnr.png"], cwd: s.path)
        #expect(again.status == 1 && again.stderr.contains("already exists"), "\(again.stderr)")
    }
}

@Suite("upres preview: a sheet of candidates for one frame")
struct PreviewTests {
    let fx = CompareFixtures.shared

    @Test("writes the sheet of the documented layout: labelled cells, candidates that differ, the hard branch as upscale makes it")
    func sheet() throws {
        let s = try Scratch()
        let r = try upres(["preview", fx.path("lr.mkv"), "--at", "0.25", "-o", "sheet.png", "--json"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try jsonLines(r.stdout)
        let cells = lines.filter { $0["type"] as? String == "candidate" }
        let sheet = try #require(lines.last { $0["type"] as? String == "sheet" })
        #expect(cells.map { $0["kind"] as? String } == ["classical", "branch", "branch", "branch", "routed"])
        #expect(cells.map { $0["name"] as? String }.first == "lanczos")
        // Layout: 5 cells in 3 columns, panels P x Q = 320 x 180 (the x2 output), a cell P x (2Q + 70),
        // 12 px apart and from the edges, a 32 px title.
        let P = 320, Q = 180, cellH = 2 * Q + 70
        let p = try Picture(png: s.file("sheet.png"), cwd: s.path)
        #expect(p.width == 2 * 12 + 3 * P + 2 * 12 && p.height == 2 * 12 + 32 + 2 * cellH + 12, "\(p.width)x\(p.height)")
        #expect(sheet["width"] as? Int == p.width && sheet["height"] as? Int == p.height)
        #expect(abs((sheet["time"] as? Double ?? -1) - 0.25) < 0.05)
        for c in cells {
            let x = c["x"] as! Int, y = c["y"] as! Int
            #expect(c["width"] as? Int == P && c["height"] as? Int == cellH)
            #expect(p.dark(x: x, y: y + 2 * Q + 6, w: P, h: 22) > 30, "name label of \(c["name"]!)")
            #expect(p.dark(x: x, y: y + 2 * Q + 6 + 22, w: P, h: 20) > 30, "figures label of \(c["name"]!)")
            #expect((c["milliseconds"] as? Double ?? -1) >= 0)
            #expect(c["kind"] as? String == "classical" ? c["macs_per_pixel"] as? Double == 0 : (c["macs_per_pixel"] as? Double ?? 0) > 1000)
        }
        let routed = cells[4]
        let classes = try #require(routed["classes"] as? [String: Int])
        #expect(classes.values.reduce(0, +) == 2, "a 160x90 frame is 2 tiles of 128: \(classes)")
        // Its tiles are drawn over its frame in their class colours (borders), and no other panel has them.
        let colours: [String: UInt32] = ["static": 0x3C78D8, "flat": 0xC040C0, "easy": 0x2CA02C, "medium": 0xE0B000, "hard": 0xD62728]
        for (name, n) in classes where n > 0 {
            let c = colours[name]!
            #expect(p.count(x: routed["x"] as! Int, y: routed["y"] as! Int, w: P, h: Q) { $0 == c } > 300, "\(name) tile borders")
            #expect(p.count(x: cells[3]["x"] as! Int, y: cells[3]["y"] as! Int, w: P, h: Q) { $0 == c } < 20)
        }
        // The zoomed views differ between candidates.
        func zoom(_ i: Int) -> (Int, Int) { (cells[i]["x"] as! Int, (cells[i]["y"] as! Int) + Q + 6) }
        for i in 0..<cells.count {
            for j in (i + 1)..<cells.count where cells[j]["kind"] as? String != "routed" {
                let (ax, ay) = zoom(i), (bx, by) = zoom(j)
                #expect(p.difference(p, x: ax, y: ay, ox: bx, oy: by, w: P, h: Q) > 0.3, "\(cells[i]["name"]!) vs \(cells[j]["name"]!)")
            }
        }
        // The hard branch's panel is what `upres --classes off --branch hard` writes for that frame,
        // converted to RGB the same way (swscale, Lanczos, full chroma), apart from the outline that
        // marks the zoomed region; Lanczos's is not.
        let up = try Shell.run(Upres.binary, [fx.path("lr.mkv"), "--model", "upres-x2", "--classes", "off", "--codec", "ffv1",
                                              "-o", "up.mkv", "--no-resume", "--progress", "none"], cwd: s.path)
        #expect(up.status == 0, "\(up.stderr)")
        try Shell.ffmpeg(["-ss", "0.25", "-i", "up.mkv", "-frames:v", "1", "-vf",
                          "scale=flags=lanczos+accurate_rnd+full_chroma_int+full_chroma_inp,format=rgb24", "up.png"], cwd: s.path)
        let frame = try Picture(png: s.file("up.png"), cwd: s.path)
        let crop = try #require(sheet["crop"] as? [String: Int])
        let (cx, cy, cw, ch) = (crop["x"]!, crop["y"]!, crop["width"]!, crop["height"]!)
        func outline(_ i: Int, _ j: Int) -> Bool { i >= cx - 2 && i <= cx + cw + 2 && j >= cy - 2 && j <= cy + ch + 2 }
        let hard = cells[3], lanczos = cells[0]
        let dHard = frame.difference(p, x: 0, y: 0, ox: hard["x"] as! Int, oy: hard["y"] as! Int, w: P, h: Q, skip: outline)
        let dLanczos = frame.difference(p, x: 0, y: 0, ox: lanczos["x"] as! Int, oy: lanczos["y"] as! Int, w: P, h: Q, skip: outline)
        #expect(dHard < 0.1 && dLanczos > 0.3, "hard \(dHard), lanczos \(dLanczos)")
    }

    @Test("--reference adds Y-PSNR to the labels and the JSON; a reference of another size is an error")
    func reference() throws {
        let s = try Scratch()
        let plain = try upres(["preview", fx.path("lr.mkv"), "-o", "plain.png", "--json"], cwd: s.path)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try jsonLines(plain.stdout).filter { $0["type"] as? String == "candidate" }.allSatisfy { $0["psnr_y"] is NSNull })
        let r = try upres(["preview", fx.path("lr.mkv"), "--reference", fx.path("hr.mkv"), "-o", "ref.png", "--json"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let cells = try jsonLines(r.stdout).filter { $0["type"] as? String == "candidate" }
        #expect(cells.count == 5)
        for c in cells {
            let y = try #require(c["psnr_y"] as? Double, "\(c)")
            #expect(y > 15 && y < 60)
        }
        // The labels carry the figure: more text on the second line of each label band.
        let a = try Picture(png: s.file("plain.png"), cwd: s.path), b = try Picture(png: s.file("ref.png"), cwd: s.path)
        for c in cells {
            let x = c["x"] as! Int, y = (c["y"] as! Int) + 2 * 180 + 6 + 22
            #expect(b.dark(x: x, y: y, w: 320, h: 20) > a.dark(x: x, y: y, w: 320, h: 20) + 30, "Y-PSNR text in \(c["name"]!)")
        }
        let wrong = try upres(["preview", fx.path("lr.mkv"), "--reference", fx.path("ref.mkv"), "-o", "w.png"], cwd: s.path)
        #expect(wrong.status == 1)
        for m in ["ref.mkv", "160x90", "320x180"] { #expect(wrong.stderr.contains(m), "\(m): \(wrong.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: s.file("w.png")))
    }
}
