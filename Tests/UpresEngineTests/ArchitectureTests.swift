import Foundation
import Testing
@testable import UpresEngine

/// Each architecture against a golden pair exported from its PyTorch definition in training/
/// (`export.py --random ARCH --config ... --seed N`): same tensors, same output within 1e-4.
@Suite("Architectures match their PyTorch definitions")
struct ArchitectureTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")
    static let names = ["plain-x2-prelu", "plain-x3-leaky", "plain-x4-rgb-relu", "espcn-x2", "fsrcnn-x4",
                        "bsrn-x2-cca", "bsrn-s-x4", "classifier"]
        + ["2", "3", "4"].flatMap { s in ["", "-easy", "-medium", "-classifier"].map { "upres-x\(s)\($0)" } }

    @Test("golden output, reference and oneDNN", arguments: names)
    func golden(_ name: String) throws {
        let model = try Model(contentsOf: Self.goldens.appendingPathComponent("\(name).safetensors"))
        let golden = try SafeTensorsFile(contentsOf: Self.goldens.appendingPathComponent("\(name).golden.safetensors"))
        let input = try golden.tensor("input")
        var expected = try golden.tensor("output")
        if name.hasSuffix("classifier") { expected = Tensor(shape: .init(1, expected.data.count, 1, 1), data: expected.data) }

        let reference = try ReferenceExecutor.run(model.graph, input: input)
        let (refDiff, scale) = reference.maxDifference(expected)
        #expect(refDiff <= 1e-4 * max(1, scale), "\(name) reference: \(refDiff)")

        let fusedReference = try ReferenceExecutor.run(model.fusedGraph, input: input)
        #expect(fusedReference.maxDifference(expected).absolute <= 1e-4 * max(1, scale), "\(name) fused graph")
        #expect(model.fusedGraph.nodes.count < model.graph.nodes.count, "fusion folded something")

        let session = try Session(model: model, input: input.shape, precision: .fp32)
        let got = try session.run(input)
        let (diff, _) = got.maxDifference(expected)
        #expect(diff <= 1e-4 * max(1, scale), "\(name) oneDNN fp32: \(diff)")
        // A second run on the same session gives the same result (buffers are reused safely).
        #expect(try session.run(input) == got)
    }

    @Test("metadata is read")
    func metadata() throws {
        let m = try Model(contentsOf: Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        #expect(m.info.arch == "plain" && m.info.scale == 2 && m.info.inChannels == 1)
        #expect(m.info.receptiveField == 13)
        #expect(m.info.macsPerPixel == Int(m.info.metadata["macs_per_pixel"]!))
        let b = try Model(contentsOf: Self.goldens.appendingPathComponent("bsrn-x2-cca.safetensors"))
        #expect(b.info.receptiveField == nil)   // "global"
    }

    @Test("a recorded bf16 check decides whether auto may pick bf16")
    func bf16Check() throws {
        let file = try SafeTensorsFile(contentsOf: Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        let tensors = try file.entries.keys.sorted().map { ($0, try file.tensor($0)) }
        func load(_ delta: String?) throws -> Model {
            var meta = file.metadata
            meta["bf16_psnr_delta_db"] = delta
            return try Model(file: SafeTensorsFile(data: SafeTensorsFile.encode(tensors, metadata: meta)), name: "m")
        }
        #expect(try load(nil).info.bf16Allowed)
        #expect(try load("-0.004").info.bf16Allowed)
        #expect(try load("0.01").info.bf16Allowed)
        #expect(try !load("-0.2").info.bf16Allowed)
    }

    @Test("other tile sizes run too (odd, non-square)", arguments: ["plain-x2-prelu", "bsrn-x2-cca", "fsrcnn-x4"])
    func otherSizes(_ name: String) throws {
        let model = try Model(contentsOf: Self.goldens.appendingPathComponent("\(name).safetensors"))
        let x = Tensor(random: .init(1, 1, 21, 9), seed: 3)
        let expected = try ReferenceExecutor.run(model.graph, input: x)
        let got = try Session(model: model, input: x.shape, precision: .fp32).run(x)
        let (diff, scale) = got.maxDifference(expected)
        #expect(diff <= 1e-4 * max(1, scale))
    }

    @Test("bf16 stays close to fp32", .enabled(if: Precision.bf16.isSupported))
    func bf16() throws {
        let model = try Model(contentsOf: Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        let x = Tensor(random: .init(1, 1, 32, 40), seed: 5)
        let a = try Session(model: model, input: x.shape, precision: .fp32).run(x)
        let b = try Session(model: model, input: x.shape, precision: .bf16).run(x)
        #expect(b.maxDifference(a).absolute < 0.03)
    }
}

/// Damaged, truncated or mismatched weights files give a clear error, never a crash.
@Suite("Bad model files")
struct BadModelFileTests {
    static let source = ArchitectureTests.goldens.appendingPathComponent("plain-x2-prelu.safetensors")

    func load(_ data: Data) -> String? {
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "upres-badmodel-\(UUID().uuidString).safetensors")
        try? data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do { _ = try Model(contentsOf: url); return nil } catch { return "\(error)" }
    }

    @Test func truncated() throws {
        let data = try Data(contentsOf: Self.source)
        for cut in [0, 4, 7, 100, data.count / 2, data.count - 1] {
            let message = load(data.prefix(cut))
            #expect(message != nil, "cut at \(cut)")
        }
        #expect(load(data.prefix(data.count - 1))?.contains("outside the file") == true)
    }

    @Test func damagedHeader() throws {
        var data = try Data(contentsOf: Self.source)
        data[12] = 0xFF
        data[13] = 0x00
        #expect(load(data)?.contains("not valid JSON") == true)
        // Random bytes everywhere in the header, fixed seed: always an error or a valid load, never a crash.
        var rng = SeededRandom(seed: 99)
        for _ in 0..<200 {
            var d = try Data(contentsOf: Self.source)
            for _ in 0..<3 { d[Int(rng.next() % 600)] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = load(d)
        }
    }

    @Test func notAnUpresModel() throws {
        let t = Tensor(random: .init(1, 1, 2, 2), seed: 1)
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "upres-notmodel-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsFile.write([("x", t)], metadata: ["format": "something-else"], to: url)
        #expect(throws: ModelFileError.self) { try Model(contentsOf: url) }
        do { _ = try Model(contentsOf: url) } catch { #expect("\(error)".contains("not an upres model")) }
    }

    @Test func mismatchedArchitecture() throws {
        // Plain weights labelled as BSRN, and a plain file with a conv of the wrong shape.
        let file = try SafeTensorsFile(contentsOf: Self.source)
        var tensors = try file.entries.keys.sorted().map { ($0, try file.tensor($0)) }
        var meta = file.metadata
        meta["arch"] = "bsrn"
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "upres-mismatch-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsFile.write(tensors, metadata: meta, to: url)
        do { _ = try Model(contentsOf: url); Issue.record("loaded") } catch { #expect("\(error)".contains("missing tensor")) }
        let i = tensors.firstIndex { $0.0 == "convs.2.weight" }!
        tensors[i].1 = Tensor(random: .init(16, 8, 3, 3), seed: 1)
        try SafeTensorsFile.write(tensors, metadata: file.metadata, to: url)
        do { _ = try Model(contentsOf: url); Issue.record("loaded") } catch { #expect("\(error)".contains("do not fit")) }
    }
}

@Suite("Embedded models")
struct EmbeddedModelTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/CUpresModels/models")

    @Test("every model file in Sources/CUpresModels/models is in the binary, byte for byte, and loads")
    func embedded() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        #expect(EmbeddedModels.names == files.map { String($0.dropLast(".safetensors".count)) })
        for (name, file) in zip(EmbeddedModels.names, files) {
            let data = try Data(contentsOf: Self.folder.appendingPathComponent(file))
            #expect(EmbeddedModels.all.first { $0.name == name }?.data == data)
            let model = try #require(try EmbeddedModels.model(named: name))
            #expect(model.info.provenance["iterations"].flatMap(Int.init) ?? 0 > 0, "\(name) is a trained model")
        }
        #expect(try EmbeddedModels.model(named: "no-such-model") == nil)
    }
}
