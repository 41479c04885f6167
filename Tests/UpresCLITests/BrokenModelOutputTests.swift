import Foundation
import Testing

/// A model whose weights hold NaN (a damaged download) stops the job with one error naming the
/// input, the model file, the frame and the tile, exit 1 and no output: never a trap in the
/// float-to-pixel conversion.
@Suite("Broken model output (NaN) stops the job clearly")
struct BrokenModelOutputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let file: String
        let args: [String]
        /// Writes the model into the folder; returns its path.
        let make: @Sendable (Scratch) throws -> String
        var testDescription: String { name }
    }

    static func nan(_ bytes: inout [UInt8], at offset: Int) {
        bytes.replaceSubrange(offset..<(offset + 4), with: [0x00, 0x00, 0xC0, 0x7F])
    }

    static let cases: [Case] = [
        Case(name: "ncnn (RGB), a NaN weight in the .bin", file: "m.param", args: []) { s in
            for ext in ["param", "bin"] {
                var b = [UInt8](try Data(contentsOf: ModelFuzzTests.ncnnFixtures.appendingPathComponent("border-x2.\(ext)")))
                if ext == "bin" { nan(&b, at: 100) }
                try Data(b).write(to: URL(fileURLWithPath: s.file("m.\(ext)")))
            }
            return s.file("m.param")
        },
        Case(name: "safetensors (luma), a NaN weight", file: "model.safetensors", args: ["--classes", "off"]) { s in
            var b = [UInt8](try Data(contentsOf: ModelFuzzTests.builtIn))
            var n = 0
            for k in 0..<8 { n |= Int(b[k]) << (8 * k) }
            nan(&b, at: 8 + n + 4 * 40)   // a weight of convs.0
            try Data(b).write(to: URL(fileURLWithPath: s.file("model.safetensors")))
            return s.file("model.safetensors")
        },
    ]

    @Test("exit 1, one line naming input, model, frame and tile; no output", arguments: cases)
    func stops(_ c: Case) throws {
        let s = try Scratch()
        let model = try c.make(s)
        for precision in ["fp32", "auto"] {
            let r = try Shell.run("/usr/bin/timeout", ["60", Upres.binary, ModelFuzzTests.clip, "--model", model, "--codec", "ffv1",
                                                       "-o", s.file("out.mkv"), "-q", "--threads", "1", "--precision", precision] + c.args,
                                  cwd: s.path)
            #expect(r.status == 1, "\(c.name) \(precision): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(r.stderr)")
            let expected = "upres: error: \(ModelFuzzTests.clip): model \(model) produced non-finite values (NaN) in frame 1, tile at (0,0)"
            // int8 (auto, for the calibrated built-in weights on a VNNI CPU) cannot carry NaN:
            // the damaged weight is refused before the first frame, by node.
            let int8 = "upres: error: \(ModelFuzzTests.clip): \(model): "
            #expect(r.stderr.hasPrefix(expected) || (precision == "auto" && r.stderr.hasPrefix(int8)
                                                     && r.stderr.contains("has a non-finite weight (NaN or infinity)")),
                    "\(c.name) \(precision): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: s.file("out.mkv")))
        }
        // The undamaged model runs (the error is about the damage, not the set-up).
        let good = c.file == "m.param" ? ModelFuzzTests.ncnnFixtures.appendingPathComponent("border-x2.param").path
                                       : ModelFuzzTests.builtIn.path
        let r = try Shell.run(Upres.binary, [ModelFuzzTests.clip, "--model", good, "--codec", "ffv1", "-o", s.file("good.mkv"),
                                             "-q", "--threads", "1"] + c.args, cwd: s.path)
        #expect(r.status == 0 && FileManager.default.fileExists(atPath: s.file("good.mkv")), "\(r.stderr)")
    }
}
