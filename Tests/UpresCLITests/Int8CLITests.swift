import Foundation
import Testing

/// `upres calibrate`, `--precision int8|auto` and `upres bench --precision int8`, run as a user would.
@Suite("int8 from the command line")
struct Int8CLITests {
    let fx = Fixtures.shared
    static let goldens = NetworkTests.goldens
    static var cpuHasVNNI: Bool {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return info.contains(" avx512_vnni") || info.contains(" avx_vnni")
    }

    /// Synthetic calibration and validation pictures (FFmpeg test sources, not evaluation data).
    static func pictures(in s: Scratch) throws -> (train: String, val: String) {
        let train = s.file("train"), val = s.file("val")
        for d in [train, val] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        for (i, src) in ["testsrc2=s=160x120", "mandelbrot=s=160x120", "smptehdbars=s=160x120"].enumerated() {
            try Shell.ffmpeg(["-f", "lavfi", "-i", src, "-frames:v", "1", "\(train)/p\(i).png"], cwd: s.path)
        }
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc=s=128x96", "-frames:v", "1", "\(val)/v.png"], cwd: s.path)
        return (train, val)
    }

    func metadata(_ file: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any]
        return header?["__metadata__"] as? [String: String] ?? [:]
    }

    @Test("calibrate writes the ranges and the measured delta; int8 and auto then run it")
    func calibrateAndRun() throws {
        let s = try Scratch()
        let (train, val) = try Self.pictures(in: s)
        let model = "\(Self.goldens)/plain-x2-prelu.safetensors"
        let out = s.file("x2-int8.safetensors")
        let r = try Shell.run(Upres.binary, ["calibrate", model, "--images", train, "--validation", val, "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("int8 calibrated on 3 pictures; check on 1"), "\(r.stdout)")
        let meta = try metadata(out)
        let delta = try #require(meta["int8_psnr_delta_db"].flatMap(Double.init), "\(meta.keys)")
        #expect(abs(delta) < 3, "\(delta): a random-weight model at ~21 dB; the figure is measured, not a quality bar")
        #expect(meta["int8_ranges"]?.hasPrefix("[[\"input\",") == true)
        #expect(meta["int8_check"]?.contains("\"validation\"") == true)
        #expect(meta["arch"] == "plain", "the rest of the metadata is kept")

        // It will not replace a file without --overwrite, and leaves it as it was.
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let again = try Shell.run(Upres.binary, ["calibrate", model, "--images", train, "--validation", val, "-o", out])
        #expect(again.status == 1 && again.stderr.contains(out) && again.stderr.contains("--overwrite"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before)

        let input = try s.copy(fx.path("ten420.mkv"))
        for (precision, env, expected) in [("int8", [String: String](), "int8"),
                                           ("auto", [:], Self.cpuHasVNNI && delta >= -0.05 ? "int8" : nil),
                                           ("auto", ["DNNL_MAX_CPU_ISA": "AVX2"], "fp32")] {
            let o = s.file("out-\(precision)-\(env.count).mkv")
            let run = try Shell.run(Upres.binary, [input, "--model", out, "--precision", precision, "--codec", "ffv1", "-o", o,
                                                   "--progress", "json", "--threads", "1"], cwd: s.path, environment: env)
            #expect(run.status == 0, "\(precision) \(env): \(run.stderr)")
            let first = run.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { $0["precision"] != nil }
            let got = first?["precision"] as? String
            if let expected { #expect(got == expected, "\(precision) \(env)") } else { #expect(got != "int8" && got != nil) }
            #expect(try Probe.framePTS(o) == Probe.framePTS(input))
        }
    }

    @Test("an ncnn model is calibrated beside itself (NAME.int8.json), runs int8, and refuses a calibration of other weights")
    func ncnnSidecar() throws {
        let s = try Scratch()
        let (train, val) = try Self.pictures(in: s)
        let fixtures = URL(fileURLWithPath: Self.goldens).deletingLastPathComponent().appendingPathComponent("NCNNFixtures")
        for ext in ["param", "bin"] {
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("border-x2.\(ext)").path, toPath: s.file("net.\(ext)"))
        }
        let param = s.file("net.param"), sidecar = s.file("net.int8.json")
        let wrongPlace = try Shell.run(Upres.binary, ["calibrate", param, "--images", train, "--validation", val, "-o", s.file("x.safetensors")])
        #expect(wrongPlace.status == 1 && wrongPlace.stderr.contains(sidecar), "\(wrongPlace.stderr)")
        let r = try Shell.run(Upres.binary, ["calibrate", param, "--images", train, "--validation", val])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\(sidecar): int8 calibrated on 3 pictures"), "\(r.stdout)")
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sidecar))) as? [String: Any]
        let meta = obj?["metadata"] as? [String: String] ?? [:]
        #expect((obj?["weights_fnv1a64"] as? String)?.count == 16)
        #expect(meta["int8_ranges"]?.hasPrefix("[[") == true && meta["int8_psnr_delta_db"].flatMap(Double.init) != nil, "\(meta.keys)")
        #expect(meta["int8_check"]?.contains("RGB") == true)

        let input = try s.copy(fx.path("ten420.mkv"))
        let o = s.file("out.mkv")
        let run = try Shell.run(Upres.binary, [input, "--model", param, "--precision", "int8", "--codec", "ffv1", "-o", o,
                                               "--progress", "json", "--threads", "1"], cwd: s.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"precision\":\"int8\""))
        #expect(try Probe.framePTS(o) == Probe.framePTS(input))

        // Other weights under the same name: the side-car is refused, named, until calibrated again.
        var bin = try Data(contentsOf: URL(fileURLWithPath: s.file("net.bin")))
        bin[bin.count - 1] ^= 0x40
        try bin.write(to: URL(fileURLWithPath: s.file("net.bin")))
        let stale = try Shell.run(Upres.binary, [input, "--model", param, "-o", s.file("o2.mkv")], cwd: s.path)
        #expect(stale.status != 0 && stale.stderr.contains(sidecar) && stale.stderr.contains("other weights"), "\(stale.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.file("o2.mkv")))
        let exists = try Shell.run(Upres.binary, ["calibrate", param, "--images", train, "--validation", val])
        #expect(exists.status == 1 && exists.stderr.contains("--overwrite"), "\(exists.stderr)")
        let again = try Shell.run(Upres.binary, ["calibrate", param, "--images", train, "--validation", val, "--overwrite"])
        #expect(again.status == 0, "\(again.stderr)")
        let fresh = try Shell.run(Upres.binary, [input, "--model", param, "--codec", "ffv1", "-o", s.file("o3.mkv")], cwd: s.path)
        #expect(fresh.status == 0, "\(fresh.stderr)")
    }

    @Test("int8 needs a calibrated model; calibrate refuses bad input with the file named")
    func refusals() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("ten420.mkv"))
        let model = "\(Self.goldens)/plain-x2-prelu.safetensors"
        let r = try Shell.run(Upres.binary, [input, "--model", model, "--precision", "int8", "-o", s.file("o.mkv")], cwd: s.path)
        #expect(r.status == 2 && r.stderr.contains("upres calibrate") && r.stderr.contains("plain-x2-prelu"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.file("o.mkv")))

        let missing = try Shell.run(Upres.binary, ["calibrate", model, "--images", s.file("nope"), "--validation", s.path,
                                                   "-o", s.file("c.safetensors")])
        #expect(missing.status == 1 && missing.stderr.contains(s.file("nope")), "\(missing.stderr)")
        let empty = try Shell.run(Upres.binary, ["calibrate", model, "--images", s.path, "--validation", s.path,
                                                 "-o", s.file("c.safetensors")])
        #expect(empty.status == 1 && empty.stderr.contains("no pictures"), "\(empty.stderr)")
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: s.file("bad.png")))
        let bad = try Shell.run(Upres.binary, ["calibrate", model, "--images", s.file("bad.png"), "--validation", s.file("bad.png"),
                                               "-o", s.file("c.safetensors")])
        #expect(bad.status == 1 && bad.stderr.contains("bad.png"), "\(bad.stderr)")
        let classifier = try Shell.run(Upres.binary, ["calibrate", "upres-x2-classifier", "--images", s.path, "--validation", s.path,
                                                      "-o", s.file("c.safetensors")])
        #expect(classifier.status == 1 && classifier.stderr.contains("classifier"), "\(classifier.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.file("c.safetensors")))
    }

    @Test("upres bench has int8 rows and the vpdpbusd peak")
    func bench() throws {
        let r = try Shell.run(Upres.binary, ["bench", "--model", "\(Self.goldens)/plain-x2-prelu.safetensors", "--size", "64x48",
                                             "--threads", "1", "--precision", "int8", "--seconds", "0.2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect(obj?["precision"] as? String == "int8")
        #expect((obj?["gflops"] as? Double ?? 0) > 0)
        let text = try Shell.run(Upres.binary, ["bench", "--model", "\(Self.goldens)/plain-x2-prelu.safetensors", "--size", "64x48",
                                                "--threads", "1", "--precision", "int8", "--seconds", "0.1"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("vpdpbusd loop") == Self.cpuHasVNNI, "\(text.stdout)")
    }
}
