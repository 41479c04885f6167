import Foundation
import Testing

/// The tile pipeline through the real binary on the bundled photographic clip.
@Suite("Tile pipeline from the command line")
struct PipelineCLITests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path

    /// framemd5 of the decoded video frames (pixels, not packets).
    static func frameHashes(_ file: String) throws -> [String] {
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-i", file, "-map", "0:v", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw FixtureError("framemd5 \(file): \(r.stderr)") }
        return r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test("the same frames for 1 and 2 SR workers and for any run; every frame kept")
    func threadsAreBitIdentical() throws {
        let s = try Scratch()
        var hashes: [[String]] = []
        for (i, threads) in ["1", "2", "2"].enumerated() {
            let out = s.file("t\(i).mkv")
            let r = try Upres.run([Self.sample, "--codec", "ffv1", "--threads", threads, "--tile", "64", "-o", out, "-q"],
                                  cwd: s.path, network: true)
            #expect(r.status == 0, "\(r.stderr)")
            hashes.append(try Self.frameHashes(out))
        }
        #expect(hashes[0].count == 144)
        #expect(hashes[0] == hashes[1] && hashes[1] == hashes[2])
    }

    @Test("--classes off, --no-reuse and another tile size give the same picture for a single-branch model")
    func optionsAgree() throws {
        let s = try Scratch()
        let single = ["--model", "upres-x2-medium"]   // a built-in branch without routing metadata
        let runs = [single + ["--tile", "96"], single + ["--classes", "off", "--no-reuse", "--tile", "48"]]
        var hashes: [[String]] = []
        for (i, extra) in runs.enumerated() {
            let out = s.file("o\(i).mkv")
            let r = try Upres.run([Self.sample, "--codec", "ffv1", "-o", out, "-q", "--precision", "fp32"] + extra,
                                  cwd: s.path, network: true)
            #expect(r.status == 0, "\(r.stderr)")
            hashes.append(try Self.frameHashes(out))
        }
        // Exact tiling and exact reuse: tile size, reuse and the class switch change no pixel
        // of a model without routing (fp32: the same kernels whatever the tile size).
        #expect(hashes[0].count == 144 && hashes[0] == hashes[1])
    }

    /// Y-PSNR of `file` against `reference` (ffmpeg's psnr filter).
    static func psnrY(_ file: String, _ reference: String, cwd: String) throws -> Double {
        let p = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-i", file, "-i", reference, "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"],
                              cwd: cwd)
        let line = p.stderr.split(separator: "\n").first { $0.contains("PSNR y:") } ?? ""
        guard let y = line.split(separator: " ").first(where: { $0.hasPrefix("y:") }).flatMap({ Double($0.dropFirst(2)) }) else {
            throw FixtureError("psnr \(file): \(p.stderr.suffix(300))")
        }
        return y
    }

    @Test("each built-in family routes tiles to its branches: fewer multiply-adds than all-hard, about its quality, above lanczos",
          arguments: [2, 3, 4])
    func routedFamily(_ scale: Int) throws {
        let s = try Scratch()
        // Ground truth: the sample cropped to a multiple of the scale; input: its bicubic downscale.
        let w = 320 / scale / 2 * 2, h = 180 / scale / 2 * 2
        let crop = "crop=\(w * scale):\(h * scale):0:0"
        try Shell.ffmpeg(["-i", Self.sample, "-frames:v", "24", "-vf", crop, "-c:v", "ffv1", "gt.mkv"], cwd: s.path)
        try Shell.ffmpeg(["-i", "gt.mkv", "-vf", "scale=\(w):\(h):flags=bicubic", "-c:v", "ffv1", "lr.mkv"], cwd: s.path)
        let common = ["lr.mkv", "--scale", "\(scale)", "--codec", "ffv1", "--precision", "fp32", "--tile", "32", "--no-resume"]
        let r = try Upres.run(common + ["-o", "routed.mkv", "--progress", "json"], cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        let events = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let last = try #require(events.last { $0["event"] as? String == "progress" })
        #expect((last["model"] as? String)?.hasPrefix("upres-x\(scale)") == true, "\(last["model"] ?? "")")
        let macs = try #require((last["multiply_adds"] as? NSNumber)?.doubleValue)
        let allHard = try #require((last["multiply_adds_all_hard"] as? NSNumber)?.doubleValue)
        let classes = try #require(last["classes_total"] as? [String: Int])
        #expect(macs < 0.9 * allHard, "routed MACs \(macs) vs all-hard \(allHard), classes \(classes)")
        #expect(["flat", "easy", "medium", "hard"].filter { (classes[$0] ?? 0) > 0 }.count >= 2, "\(classes)")
        // A dearer multiply-add (--mac-cost) moves tiles to cheaper branches.
        let cheap = try Upres.run(common + ["-o", "cheap.mkv", "--mac-cost", "8", "--progress", "json"], cwd: s.path, network: true)
        #expect(cheap.status == 0, "\(cheap.stderr)")
        let cheapLast = cheap.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.last { $0["event"] as? String == "progress" }
        let cheapMACs = try #require((cheapLast?["multiply_adds"] as? NSNumber)?.doubleValue)
        #expect(cheapMACs < macs, "--mac-cost 8: \(cheapMACs) MACs vs \(macs) at 1")
        let off = try Upres.run(common + ["-o", "hard.mkv", "--classes", "off", "-q"], cwd: s.path, network: true)
        #expect(off.status == 0, "\(off.stderr)")
        let lz = try Upres.run(common + ["-o", "lanczos.mkv", "--upscaler", "lanczos", "-q"], cwd: s.path)
        #expect(lz.status == 0, "\(lz.stderr)")
        let routed = try Self.psnrY("routed.mkv", "gt.mkv", cwd: s.path), hard = try Self.psnrY("hard.mkv", "gt.mkv", cwd: s.path)
        let lanczos = try Self.psnrY("lanczos.mkv", "gt.mkv", cwd: s.path)
        #expect(routed > hard - 0.2, "x\(scale) Y-PSNR routed \(routed) vs hard \(hard) dB")
        #expect(routed > lanczos + 0.3, "x\(scale) Y-PSNR routed \(routed) vs lanczos \(lanczos) dB")
    }

    @Test("the classical Lanczos path matches ffmpeg's scale filter on H.264 footage (no level drift)")
    func lanczosMatchesFFmpeg() throws {
        let s = try Scratch()
        let r = try Upres.run([Self.sample, "--upscaler", "lanczos", "--codec", "ffv1", "-o", "u.mkv", "-q", "--no-resume"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        try Shell.ffmpeg(["-i", Self.sample, "-vf", "scale=640:360:flags=lanczos+accurate_rnd+full_chroma_int+full_chroma_inp",
                          "-c:v", "ffv1", "f.mkv"], cwd: s.path)
        // Before the fix, swscale's colour-details path lifted luma by ~0.7 code values: ~40 dB apart.
        let y = try Self.psnrY("u.mkv", "f.mkv", cwd: s.path)
        #expect(y > 55, "upres lanczos vs ffmpeg lanczos: Y-PSNR \(y) dB")
    }

    @Test("bad tile options are usage errors naming the flag", arguments: [["--tile", "4"], ["--reuse-threshold", "-1"],
                                                                           ["--frames-in-flight", "0"], ["--classes", "maybe"], ["--mac-cost", "0"]])
    func badOptions(_ args: [String]) throws {
        let s = try Scratch()
        let r = try Upres.run([Self.sample, "-o", s.file("x.mkv")] + args, cwd: s.path, network: true)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(args[0]) || r.stderr.contains(args[1]), "\(r.stderr)")
        #expect(s.listing.isEmpty)
    }
}
