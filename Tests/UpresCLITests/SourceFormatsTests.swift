import Foundation
import Testing

/// RGB, RGBA, 16-bit, grey, palette and alpha sources through the networks (issue: "every
/// source works"): the output keeps the source's kind of pixels where the encoder takes them,
/// alpha is upscaled like a Lanczos-upscaled alpha plane, and the network still beats Lanczos.
@Suite("RGB, alpha and deep sources")
struct SourceFormatsTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("UpresEngineTests/Goldens").path
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path

    static func ffmpeg(_ args: [String], _ s: Scratch) throws { try Shell.ffmpeg(args, cwd: s.path) }

    /// Y-PSNR of `a` against `b` (both converted to 8-bit 4:4:4 with the same stated matrix).
    static func psnrY(_ a: String, _ b: String, decoder: [String] = []) throws -> Double {
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin"] + decoder + ["-i", a, "-i", b, "-lavfi",
                              "[0]format=yuv444p[x];[1]format=yuv444p[y];[x][y]psnr", "-f", "null", "-"])
        guard let m = r.stderr.range(of: #"PSNR y:([0-9.]+|inf)"#, options: .regularExpression) else {
            throw FixtureError("no PSNR for \(a): \(r.stderr.suffix(400))")
        }
        let v = r.stderr[m].dropFirst("PSNR y:".count)
        return v == "inf" ? 100 : Double(v)!
    }

    /// The alpha plane of an image or the first frame of a video, as raw 8-bit bytes; with
    /// `scaleBy`, upscaled by FFmpeg's Lanczos from the raw plane (no range tags involved). Through
    /// RGBA first: alphaextract reads packed grey+alpha (ya8) one pixel off.
    static func alpha(_ file: String, _ s: Scratch, scaleBy: Int = 1, decoder: [String] = []) throws -> [UInt8] {
        let id = UUID().uuidString.prefix(6)
        let raw = s.file("alpha-\(id).gray")
        try ffmpeg(decoder + ["-i", file, "-frames:v", "1", "-vf", "format=rgba,alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", raw], s)
        if scaleBy == 1 { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw))) }
        let v = try Probe.video(file)
        let size = "\(Probe.int(v["width"])!)x\(Probe.int(v["height"])!)"
        let big = s.file("alpha-\(id)-big.gray")
        try ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray", "-s", size, "-i", raw,
                    "-vf", "scale=iw*\(scaleBy):ih*\(scaleBy):flags=lanczos+accurate_rnd+full_chroma_int",
                    "-f", "rawvideo", "-pix_fmt", "gray", big], s)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: big)))
    }

    /// PSNR and largest difference of two alpha planes.
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> (psnr: Double, maxDiff: Int) {
        guard a.count == b.count, !a.isEmpty else { return (0, 255) }
        let mse = zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(a.count)
        let worst = zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
        return (mse == 0 ? 100 : 10 * log10(255 * 255 / mse), worst)
    }

    /// Upscaled in 16 bits and rounded once, against FFmpeg's 8-bit Lanczos: within one code value.
    static func expectLanczosAlpha(_ got: [UInt8], _ want: [UInt8], _ what: String) {
        let c = compare(got, want)
        #expect(got.count == want.count && c.maxDiff <= 1 && c.psnr > 48,
                "\(what): alpha vs a Lanczos-upscaled alpha plane: \(c.psnr) dB, max difference \(c.maxDiff)")
    }

    /// A real photo (a frame of the bundled sample, 192x108 crop) as HR, and its bicubic /2 LR,
    /// both in `pixelFormat`, with an alpha ramp 0...255 across when the format has alpha.
    static func photoPair(_ pixelFormat: String, alpha: Bool, _ s: Scratch) throws -> (lr: String, hr: String) {
        let ramp = alpha ? ",format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/(W-1)'" : ""
        try ffmpeg(["-ss", "2", "-i", sample, "-frames:v", "1", "-vf", "crop=192:108:60:40\(ramp),format=\(pixelFormat)",
                    s.file("hr.png")], s)
        try ffmpeg(["-i", s.file("hr.png"), "-vf", "scale=96:54:flags=bicubic", "-pix_fmt", pixelFormat, s.file("lr.png")], s)
        return (s.file("lr.png"), s.file("hr.png"))
    }

    @Test("PNG sources of every kind through the default network: same kind out, better than Lanczos",
          arguments: [("rgb24", "rgb24"), ("rgba", "rgba"), ("rgb48be", "rgb48be"), ("gray", "gray"),
                      ("gray16be", "gray16be"), ("ya8", "ya8"), ("pal8", "rgba")])
    func pngKinds(_ source: String, _ expected: String) throws {
        let s = try Scratch()
        let (lr, hr) = try Self.photoPair(source, alpha: false, s)
        let r = try Upres.run([lr, "-o", s.file("sr.png"), "-q"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Probe.video(s.file("sr.png"))
        #expect(v["pix_fmt"] as? String == expected)
        #expect(Probe.int(v["width"]) == 192 && Probe.int(v["height"]) == 108)
        try Self.ffmpeg(["-i", lr, "-vf", "scale=192:108:flags=lanczos+accurate_rnd+full_chroma_int", s.file("lanczos.png")], s)
        let gain = try Self.psnrY(s.file("sr.png"), hr) - Self.psnrY(s.file("lanczos.png"), hr)
        // Palette colours are dithered: less for the network to restore.
        #expect(gain > (source == "pal8" ? 0.1 : 0.3), "\(source): the network gains \(gain) dB over Lanczos")
    }

    @Test("16-bit RGB keeps 16 bits: the output is not 8-bit values widened")
    func sixteenBits() throws {
        let s = try Scratch()
        let (lr, _) = try Self.photoPair("rgb48be", alpha: false, s)
        #expect(try Upres.run([lr, "-o", s.file("sr.png"), "-q"], cwd: s.path, network: true).status == 0)
        try Self.ffmpeg(["-i", s.file("sr.png"), "-f", "rawvideo", "-pix_fmt", "rgb48be", s.file("sr.raw")], s)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("sr.raw"))))
        // Widened 8-bit values have equal high and low bytes (v * 257).
        let widened = stride(from: 0, to: bytes.count, by: 2).filter { bytes[$0] == bytes[$0 + 1] }.count
        #expect(Double(widened) / Double(bytes.count / 2) < 0.05, "\(widened) of \(bytes.count / 2) samples look 8-bit")
    }

    @Test("RGBA PNG: colour through the network, alpha a Lanczos-upscaled alpha plane (within one code value)")
    func rgbaAlpha() throws {
        let s = try Scratch()
        let (lr, hr) = try Self.photoPair("rgba", alpha: true, s)
        let r = try Upres.run([lr, "-o", s.file("sr.png"), "-q"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Probe.video(s.file("sr.png"))["pix_fmt"] as? String == "rgba")
        let got = try Self.alpha(s.file("sr.png"), s)
        #expect(got.count == 192 * 108)
        Self.expectLanczosAlpha(got, try Self.alpha(lr, s, scaleBy: 2), "RGBA PNG")
        #expect(Set(got).count > 100, "the alpha ramp survives")
        try Self.ffmpeg(["-i", lr, "-vf", "scale=192:108:flags=lanczos+accurate_rnd+full_chroma_int", s.file("lanczos.png")], s)
        #expect(try Self.psnrY(s.file("sr.png"), hr) > Self.psnrY(s.file("lanczos.png"), hr) + 0.3)
    }

    @Test("An RGB network on RGB and RGBA PNG: RGB out, alpha from Lanczos", arguments: ["rgb24", "rgba"])
    func rgbModel(_ format: String) throws {
        let s = try Scratch()
        let (lr, _) = try Self.photoPair(format, alpha: format == "rgba", s)
        let r = try Upres.run([lr, "--model", "\(Self.goldens)/plain-x4-rgb-relu.safetensors", "--scale", "4",
                               "-o", s.file("sr.png"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Probe.video(s.file("sr.png"))
        #expect(v["pix_fmt"] as? String == format)
        #expect(Probe.int(v["width"]) == 384 && Probe.int(v["height"]) == 216)
        if format == "rgba" {
            Self.expectLanczosAlpha(try Self.alpha(s.file("sr.png"), s), try Self.alpha(lr, s, scaleBy: 4), "RGB model")
        }
    }

    @Test("Every source kind through an RGB network: the kind of pixels kept, alpha from Lanczos",
          arguments: [("rgb48be.png", "rgb48be"), ("gray.png", "gray"), ("ya8.png", "ya8"), ("bgr0.mkv", "bgr0"),
                      ("rgba.mov", "rgba"), ("yuva.webm", "yuva420p")])
    func rgbModelSources(_ name: String, _ expected: String) throws {
        let s = try Scratch()
        let lavfi = "testsrc2=size=48x32:rate=10:duration=0.3,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/(W-1)'"
        let input = s.file(name)
        switch name {
        case "bgr0.mkv": try Self.ffmpeg(["-f", "lavfi", "-i", lavfi, "-pix_fmt", "bgr0", "-c:v", "ffv1", input], s)
        case "rgba.mov": try Self.ffmpeg(["-f", "lavfi", "-i", lavfi, "-c:v", "png", input], s)
        case "yuva.webm": try Self.ffmpeg(["-f", "lavfi", "-i", lavfi, "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p",
                                           "-deadline", "realtime", "-cpu-used", "8", input], s)
        default: try Self.ffmpeg(["-f", "lavfi", "-i", lavfi, "-frames:v", "1", "-pix_fmt", expected, input], s)
        }
        let ext = (name as NSString).pathExtension
        let out = s.file("out.\(ext)")
        var args = [input, "--model", "\(Self.goldens)/plain-x4-rgb-relu.safetensors", "--scale", "4", "-o", out, "-q"]
        if ext == "mkv" { args += ["--codec", "ffv1"] }
        if ext == "webm" { args += ["--encoder-opt", "deadline=realtime", "--encoder-opt", "cpu-used=8", "--encoder-opt", "lossless=1"] }
        let r = try Upres.run(args, cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let vpx = ext == "webm" ? ["-c:v", "libvpx-vp9"] : []
        let v = try Probe.video(out)
        #expect(Probe.int(v["width"]) == 192 && Probe.int(v["height"]) == 128)
        if ext != "webm" { #expect(v["pix_fmt"] as? String == expected, "\(v)") }
        if ["ya8", "rgba", "yuva420p"].contains(expected) {
            Self.expectLanczosAlpha(try Self.alpha(out, s, decoder: vpx), try Self.alpha(input, s, scaleBy: 4, decoder: vpx), name)
        }
    }

    @Test("VP9 with alpha (WebM): decoded with libvpx, upscaled, written with alpha to WebM and MKV",
          arguments: ["webm", "mkv"])
    func vp9Alpha(_ ext: String) throws {
        let s = try Scratch()
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1,format=rgba,"
                         + "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/(W-1)'",
                         "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-deadline", "realtime", "-cpu-used", "8",
                         s.file("alpha.webm")], s)
        let out = s.file("big.\(ext)")
        let r = try Upres.run([s.file("alpha.webm"), "-o", out, "--encoder-opt", "deadline=realtime",
                               "--encoder-opt", "cpu-used=8", "--encoder-opt", "lossless=1"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("dropped"), "\(r.stderr)")
        #expect(try Probe.frameCount(out) == 10)
        let vpx = ["-c:v", "libvpx-vp9"]
        // Lossless VP9 out: the alpha is the source's decoded alpha, Lanczos-upscaled.
        Self.expectLanczosAlpha(try Self.alpha(out, s, decoder: vpx), try Self.alpha(s.file("alpha.webm"), s, scaleBy: 2, decoder: vpx),
                                "VP9 into \(ext)")
    }

    @Test("PNG-in-MOV with alpha stays PNG-in-MOV with alpha; RGB FFV1 stays RGB with --codec ffv1")
    func rgbVideo() throws {
        let s = try Scratch()
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1,format=rgba,"
                         + "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*Y/(H-1)'", "-c:v", "png", s.file("anim.mov")], s)
        let r = try Upres.run([s.file("anim.mov"), "-o", s.file("big.mov")], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("alpha plane: encoding with png"), "\(r.stderr)")
        let v = try Probe.video(s.file("big.mov"))
        #expect(v["codec_name"] as? String == "png" && v["pix_fmt"] as? String == "rgba")
        #expect(try Probe.frameCount(s.file("big.mov")) == 10)
        Self.expectLanczosAlpha(try Self.alpha(s.file("big.mov"), s), try Self.alpha(s.file("anim.mov"), s, scaleBy: 2), "PNG-in-MOV")

        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1,format=bgr0", "-c:v", "ffv1",
                         s.file("rgb.mkv")], s)
        let f = try Upres.run([s.file("rgb.mkv"), "--codec", "ffv1", "-o", s.file("ffv1.mkv"), "-q"], cwd: s.path, network: true)
        #expect(f.status == 0, "\(f.stderr)")
        #expect(try Probe.video(s.file("ffv1.mkv"))["pix_fmt"] as? String == "bgr0")
        // Into H.264 (YUV only): converted with a stated matrix and range.
        let h = try Upres.run([s.file("rgb.mkv"), "-o", s.file("h264.mkv"), "-q"], cwd: s.path, network: true)
        #expect(h.status == 0, "\(h.stderr)")
        let hv = try Probe.video(s.file("h264.mkv"))
        #expect(hv["color_space"] as? String == "smpte170m" && hv["color_range"] as? String == "tv", "\(hv)")
        #expect(try Self.psnrY(s.file("h264.mkv"), s.file("ffv1.mkv")) > 30)
    }

    @Test("WebP with alpha into WebP and PNG keeps the alpha", arguments: ["webp", "png"])
    func webpAlpha(_ ext: String) throws {
        let s = try Scratch()
        let (lr, _) = try Self.photoPair("rgba", alpha: true, s)
        try Self.ffmpeg(["-i", lr, "-c:v", "libwebp", "-lossless", "1", s.file("in.webp")], s)
        let r = try Upres.run([s.file("in.webp"), "-o", s.file("out.\(ext)"), "-q"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Probe.video(s.file("out.\(ext)"))["pix_fmt"] as? String == (ext == "png" ? "rgba" : "yuva420p"))
        let got = try Self.alpha(s.file("out.\(ext)"), s)
        #expect(got.count == 192 * 108 && Set(got).count > 100, "the alpha ramp survives")
    }

    @Test("An output that cannot hold alpha says so before the job starts")
    func alphaDropped() throws {
        let s = try Scratch()
        let (lr, _) = try Self.photoPair("rgba", alpha: true, s)
        let r = try Upres.run([lr, "-o", s.file("out.mp4"), "--progress", "plain"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        let warn = lines.firstIndex { $0.contains("alpha plane (transparency) is dropped") }
        let done = lines.firstIndex { $0.contains("done:") }
        #expect(warn != nil && done != nil && warn! < done!, "\(r.stderr)")
    }

    @Test("A 12-bit source into MP4 picks libx265 and keeps 12 bits")
    func twelveBit() throws {
        let s = try Scratch()
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1", "-c:v", "ffv1",
                         "-pix_fmt", "yuv420p12le", s.file("deep.mkv")], s)
        let r = try Upres.run([s.file("deep.mkv"), "-o", s.file("deep.mp4"), "--preset", "ultrafast"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("12 bits per sample: encoding with libx265"), "\(r.stderr)")
        let v = try Probe.video(s.file("deep.mp4"))
        #expect(v["codec_name"] as? String == "hevc" && v["pix_fmt"] as? String == "yuv420p12le", "\(v)")
        // With --codec libx264 the loss is said before starting.
        let x = try Upres.run([s.file("deep.mkv"), "-o", s.file("x264.mp4"), "--codec", "libx264", "--preset", "ultrafast"],
                              cwd: s.path)
        #expect(x.status == 0 && x.stderr.contains("has fewer bits"), "\(x.stderr)")
    }
}
