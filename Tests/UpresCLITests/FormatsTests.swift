import Foundation
import Testing

@Suite("Encoders, images and sequences")
struct FormatsTests {
    let fx = Fixtures.shared

    @Test("Each encoder writes a playable file with every frame",
          arguments: [("libx265", "mp4"), ("libvpx-vp9", "mkv"), ("ffv1", "mkv"), ("libsvtav1", "mkv"), ("libx264", "mov")])
    func encoders(_ codec: String, _ ext: String) throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        let out = s.file("out.\(ext)")
        let r = try Upres.run([input, "--codec", codec, "--preset", codec == "libsvtav1" ? "12" : (codec.hasPrefix("libx") ? "ultrafast" : "0"),
                               "-o", out, "-q"] + (codec == "libvpx-vp9" ? ["--encoder-opt", "deadline=realtime", "--encoder-opt", "cpu-used=8"] : []),
                              cwd: s.path)
        if codec == "libvpx-vp9" || codec == "ffv1" {
            // these encoders have no "preset" option: upres must say so
            #expect(r.status == 1)
            #expect(r.stderr.contains("has no option 'preset'"))
            let again = try Upres.run([input, "--codec", codec, "-o", out, "-q"]
                                      + (codec == "libvpx-vp9" ? ["--encoder-opt", "deadline=realtime", "--encoder-opt", "cpu-used=8"] : []),
                                      cwd: s.path)
            #expect(again.status == 0, "\(again.stderr)")
        } else {
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try Probe.frameCount(out) == 48)
        #expect(Probe.int(try Probe.video(out)["width"]) == 640)
        #expect(try Probe.packetHashes(out, stream: "a:0") == Probe.packetHashes(input, stream: "a:0"))
    }

    @Test("A still image upscales to an image")
    func stillImage() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("photo.png"))
        let r = try Upres.run([input, "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Probe.video(s.file("photo.upres-x2.png"))
        #expect(v["codec_name"] as? String == "png")
        #expect(Probe.int(v["width"]) == 400 && Probe.int(v["height"]) == 240)
        let r2 = try Upres.run([input, "-o", s.file("photo.x4.jpg"), "--scale", "4", "-q"], cwd: s.path)
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(Probe.int(try Probe.video(s.file("photo.x4.jpg"))["width"]) == 800)
        #expect(s.listing == ["photo.png", "photo.upres-x2.png", "photo.x4.jpg"])
    }

    @Test("An image sequence upscales to a sequence")
    func imageSequence() throws {
        let s = try Scratch()
        let r = try Upres.run([fx.path("frames/%05d.png"), "-o", s.file("big/%05d.png"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: s.file("big")).sorted()
        #expect(files == (1...10).map { String(format: "%05d.png", $0) })
        #expect(Probe.int(try Probe.video(s.file("big/00001.png"))["width"]) == 320)
        // Again without --overwrite: refused, nothing touched.
        let again = try Upres.run([fx.path("frames/%05d.png"), "-o", s.file("big/%05d.png"), "-q"], cwd: s.path)
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
    }

    @Test("RGB to YUV states its matrix and range, so colours survive")
    func rgbToYuvColours() throws {
        let s = try Scratch()
        let r = try Upres.run([fx.path("flat.png"), "-o", s.file("flat.mp4"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Probe.video(s.file("flat.mp4"))
        #expect(v["color_space"] as? String == "smpte170m")
        #expect(v["color_range"] as? String == "tv")
        let rgb = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-i", s.file("flat.mp4"), "-frames:v", "1",
                                                        "-f", "rawvideo", "-pix_fmt", "rgb24", s.file("frame.rgb")])
        #expect(rgb.status == 0)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("frame.rgb"))))
        let n = bytes.count / 3
        let mean = (0..<3).map { c in Double(stride(from: c, to: bytes.count, by: 3).reduce(0) { $0 + Int(bytes[$1]) }) / Double(n) }
        #expect(abs(mean[0] - 0xC0) < 3 && abs(mean[1] - 0x40) < 3 && abs(mean[2] - 0x20) < 3, "\(mean)")
    }

    @Test("Lossless output of the sample: every frame, the audio, the length")
    func sampleClip() throws {
        let s = try Scratch()
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path
        let r = try Upres.run([sample, "--codec", "ffv1", "-o", s.file("pan.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        // MP4 -> MKV: Matroska cannot start below zero, so the muxer shifts every stream by the
        // AAC priming delay (as ffmpeg -c copy does); video and audio keep their relative timing.
        let shift = try Probe.firstPacketTime(s.file("pan.mkv"), stream: "a:0") - Probe.firstPacketTime(sample, stream: "a:0")
        #expect(abs(shift) < 0.05)
        #expect(Probe.sameTimes(try Probe.framePTS(sample), try Probe.framePTS(s.file("pan.mkv")), offset: shift))
        #expect(try Probe.frameCount(s.file("pan.mkv")) == 144)
        #expect(try Probe.packetHashes(s.file("pan.mkv"), stream: "a:0") == Probe.packetHashes(sample, stream: "a:0"))
    }
}

@Suite("SR network upscaling")
struct NetworkTests {
    let fx = Fixtures.shared
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("UpresEngineTests/Goldens").path

    @Test("--model runs a network on the luma plane; every frame, the audio and the tags kept",
          arguments: ["ten420.mkv", "odd.mkv"])
    func modelUpscale(_ name: String) throws {
        let s = try Scratch()
        let input = try s.copy(fx.path(name))
        let r = try Upres.run([input, "--model", "\(Self.goldens)/plain-x2-prelu.safetensors", "--codec", "ffv1",
                               "-o", s.file("out.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let src = try Probe.video(input), out = try Probe.video(s.file("out.mkv"))
        #expect(Probe.int(out["width"]) == 2 * Probe.int(src["width"])!)
        #expect(out["pix_fmt"] as? String == src["pix_fmt"] as? String)
        #expect(try Probe.framePTS(s.file("out.mkv")) == Probe.framePTS(input))
    }

    @Test("the built-in upres-x2 model is the default at x2, and beats lanczos on the sample")
    func defaultModel() throws {
        let s = try Scratch()
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path
        // Ground truth: the sample itself; input: its half-size version (bicubic, like the training data).
        try Shell.ffmpeg(["-i", sample, "-frames:v", "12", "-vf", "scale=160:90:flags=bicubic", "-c:v", "ffv1", "small.mkv"],
                         cwd: s.path)
        let r = try Upres.run(["small.mkv", "--codec", "ffv1", "-o", "net.mkv", "--progress", "plain"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("upres-x2"), "default model named in the start line: \(r.stderr)")
        _ = try Upres.run(["small.mkv", "--codec", "ffv1", "-o", "lanczos.mkv", "--upscaler", "lanczos"], cwd: s.path)
        func psnr(_ file: String) throws -> Double {
            let p = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-i", file, "-i", sample, "-frames:v", "12", "-lavfi",
                                                         "[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]psnr", "-f", "null", "-"],
                                  cwd: s.path)
            let line = p.stderr.split(separator: "\n").first { $0.contains("PSNR y:") } ?? ""
            let y = line.split(separator: " ").first { $0.hasPrefix("y:") }.map { Double($0.dropFirst(2)) ?? 0 } ?? 0
            return y
        }
        let net = try psnr(s.file("net.mkv")), lanczos = try psnr(s.file("lanczos.mkv"))
        #expect(net > lanczos + 0.5, "Y-PSNR network \(net) dB vs lanczos \(lanczos) dB")
    }

    @Test("a network at another scale reaches the requested size")
    func modelOtherScale() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        let r = try Upres.run([input, "--model", "\(Self.goldens)/plain-x3-leaky.safetensors", "--width", "800",
                               "-o", s.file("out.mp4"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Probe.int(try Probe.video(s.file("out.mp4"))["width"]) == 800)
        #expect(try Probe.frameCount(s.file("out.mp4")) == 48)
    }

    @Test("a bad model file is refused before anything is written")
    func badModel() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: s.file("bad.safetensors")))
        let r = try Upres.run([input, "--model", s.file("bad.safetensors")], cwd: s.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad.safetensors"))
        #expect(s.listing == ["bad.safetensors", "cfr.mp4"])
    }

    @Test("an RGB model runs on YUV video through the tile pipeline (luma and chroma from the network)")
    func rgbModel() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        let r = try Upres.run([input, "--model", "\(Self.goldens)/plain-x4-rgb-relu.safetensors", "--scale", "4",
                               "--codec", "ffv1", "-o", s.file("rgb.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Probe.video(s.file("rgb.mkv"))
        #expect(Probe.int(v["width"]) == 4 * 320 && Probe.int(v["height"]) == 4 * 180)
        #expect(try Probe.frameCount(s.file("rgb.mkv")) == Probe.frameCount(input))
    }

    @Test("upres bench measures the engine and prints JSON")
    func bench() throws {
        let r = try Shell.run(Upres.binary, ["bench", "--model", "\(Self.goldens)/plain-x2-prelu.safetensors",
                                             "--size", "64x48", "--threads", "1", "--seconds", "0.2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.split(separator: "\n")[0].utf8)) as? [String: Any]
        for key in ["model", "precision", "threads", "macs_per_pixel", "ms_per_frame", "mpix_per_s", "gflops", "peak_gflops"] {
            #expect(obj?[key] != nil, "missing \(key)")
        }
        #expect((obj?["gflops"] as? Double ?? 0) > 0)
        #expect((obj?["peak_gflops"] as? Double ?? 0) > 0)
        let kinds = obj?["gflops_by_kind"] as? [String: Double]
        #expect((kinds?["conv 3x3"] ?? 0) > 0, "GFLOPS per conv kind")
    }

    @Test("upres bench --layers measures single convolutions against the peak")
    func benchLayers() throws {
        let r = try Shell.run(Upres.binary, ["bench", "--layers", "--size", "32x32", "--channels", "16",
                                             "--precision", "fp32", "--seconds", "0.1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try r.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.compactMap { $0?["layer"] as? String } == ["conv 3x3", "conv 1x1", "depthwise conv 3x3"])
        for row in rows {
            #expect((row?["gflops"] as? Double ?? 0) > 0)
            #expect((row?["percent_of_peak"] as? Double ?? 0) > 0)
        }
    }
}
