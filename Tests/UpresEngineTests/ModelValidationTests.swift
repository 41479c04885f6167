import Foundation
import Testing
@testable import UpresEngine

/// Hostile model files: every count, shape, offset and size is checked before use, so a bad
/// file is an error naming the file and the problem, never a trap (which would end this test
/// process), an out-of-bounds read or an unbounded allocation.
@Suite("Model files are validated")
struct ModelValidationTests {
    // MARK: - ncnn .param / .bin

    /// The error loading `param` (with `bin` beside it); fails the test if it loads.
    static func ncnnError(_ param: String, bin: [UInt8] = []) throws -> String {
        let url = try NCNNImportTests.write(param, bin: bin)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do { _ = try Model(ncnnParam: url) } catch { return "\(error)" }
        Issue.record("loaded: \(param)")
        return ""
    }

    struct ParamCase: CustomTestStringConvertible, Sendable {
        let name: String
        let layers: String
        let mentions: String
        /// Bytes of the (zero) .bin.
        var bin = 0
        var testDescription: String { name }
    }

    /// Each a network of Input + the layer lines given, and what the error must say.
    static let paramCases: [ParamCase] = [
        ParamCase(name: "array length that overflows", layers: "ReLU r 1 1 data out -23310=9223372036854775807,0.1",
                  mentions: "does not start with its length"),
        ParamCase(name: "array parameter id Int.min", layers: "ReLU r 1 1 data out -9223372036854775808=1",
                  mentions: "out of range"),
        ParamCase(name: "input count that overflows", layers: "ReLU r 9223372036854775807 1 data out",
                  mentions: "lists 9223372036854775807 inputs"),
        ParamCase(name: "integer beyond Int32", layers: "ReLU r 1 1 data out 0=99999999999",
                  mentions: "not a number"),
        ParamCase(name: "float too large for an integer", layers: "PixelShuffle ps 1 1 data out 0=1e30",
                  mentions: "must be an integer"),
        ParamCase(name: "huge MemoryData", layers: "MemoryData m 0 1 m 0=2147483647 1=2147483647 2=2147483647\nBinaryOp b 2 1 data m out 0=0",
                  mentions: "too large"),
        ParamCase(name: "MemoryData larger than the .bin", layers: "MemoryData m 0 1 m 0=1000000 1=1000\nBinaryOp b 2 1 data m out 0=0",
                  mentions: "bytes left"),
        ParamCase(name: "negative BatchNorm channels", layers: "BatchNorm bn 1 1 data out 0=-1", mentions: "channels -1"),
        ParamCase(name: "zero BatchNorm channels", layers: "BatchNorm bn 1 1 data out 0=0", mentions: "channels 0"),
        ParamCase(name: "PReLU slopes beyond the .bin", layers: "PReLU p 1 1 data out 0=2147483647", mentions: "bytes left"),
        ParamCase(name: "Scale beyond the .bin", layers: "Scale s 1 1 data out 0=2147483647 1=1", mentions: "bytes left"),
        ParamCase(name: "huge convolution kernel", layers: "Convolution c 1 1 data out 0=3 1=100000 6=30000000000",
                  mentions: "not a number"),
        ParamCase(name: "convolution kernel out of range", layers: "Convolution c 1 1 data out 0=3 1=1000 6=3000000",
                  mentions: "kernel 1000 is outside"),
        ParamCase(name: "zero stride", layers: "Convolution c 1 1 data out 0=3 1=3 3=0 6=81", mentions: "stride 0"),
        ParamCase(name: "huge convolution padding", layers: "Convolution c 1 1 data out 0=3 1=3 4=2000000000 6=81",
                  mentions: "padding 2000000000"),
        ParamCase(name: "weights larger than the .bin", layers: "Convolution c 1 1 data out 0=3 1=3 6=2147483646",
                  mentions: "does not fit"),
        ParamCase(name: "weights beyond the .bin", layers: "Convolution c 1 1 data out 0=3 1=1 6=2147483646",
                  mentions: "bytes left", bin: 64),
        ParamCase(name: "a .bin longer than the weights", layers: "Convolution c 1 1 data out 0=3 1=1 6=9",
                  mentions: "bytes left after the last layer", bin: 64),
        ParamCase(name: "deconvolution stride out of range", layers: "Deconvolution d 1 1 data out 0=3 1=2 3=100000 6=36",
                  mentions: "stride 100000"),
        ParamCase(name: "pooling stride 0", layers: "Pooling p 1 1 data out 0=0 1=3 2=0 5=1", mentions: "stride 0"),
        ParamCase(name: "pooling kernel 0", layers: "Pooling p 1 1 data out 0=0 1=0 2=1 5=1", mentions: "kernel 0"),
        ParamCase(name: "huge Padding", layers: "Padding p 1 1 data out 0=2000000000 1=2000000000 4=1", mentions: "padding 2000000000"),
        ParamCase(name: "negative Padding", layers: "Padding p 1 1 data out 0=-5 4=1", mentions: "padding -5"),
        ParamCase(name: "huge PixelShuffle", layers: "PixelShuffle ps 1 1 data out 0=65536", mentions: "upscale_factor 65536"),
        ParamCase(name: "infinite Interp factor", layers: "Interp up 1 1 data out 0=1 1=1e39 2=2.0", mentions: "scale factors"),
        ParamCase(name: "huge Interp factor", layers: "Interp up 1 1 data out 0=1 1=1e9 2=1e9", mentions: "scale factors"),
        ParamCase(name: "tiny Interp factor", layers: "Interp up 1 1 data out 0=2 1=1e-30 2=1e-30", mentions: "scale factors"),
        ParamCase(name: "Crop slice at 1e30", layers: "Crop c 1 1 data out -23309=1,1e30 -23310=1,-1 -23311=1,1",
                  mentions: "slice start must be an integer"),
        ParamCase(name: "Crop axis NaN-like", layers: "Crop c 1 1 data out -23309=1,1 -23310=1,-1 -23311=1,1e39",
                  mentions: "axis must be an integer"),
        ParamCase(name: "huge Crop margins", layers: "Crop c 1 1 data out 0=2000000000 1=0 3=-233 4=-233 5=-233",
                  mentions: "crop"),
        ParamCase(name: "Input of a million channels", layers: "ReLU r 1 1 data out", mentions: "1000000 channels"),
    ]

    @Test("hostile .param values are errors naming the file and layer", arguments: paramCases)
    func hostileParam(_ c: ParamCase) throws {
        let lines = c.layers.split(separator: "\n").map(String.init)
        let input = c.name.hasPrefix("Input of") ? "Input in 0 1 data 2=1000000" : "Input in 0 1 data"
        var blobs = Set<String>()
        for l in lines { for t in l.split(separator: " ").dropFirst(4) where !t.contains("=") { blobs.insert(String(t)) } }
        let text = "7767517\n\(lines.count + 1) \(blobs.count + 1)\n\(input)\n" + lines.joined(separator: "\n") + "\n"
        let m = try Self.ncnnError(text, bin: [UInt8](repeating: 0, count: c.bin))
        #expect(m.contains("m.param") || m.contains("m.bin"), "\(c.name): no file named: \(m)")
        #expect(m.contains(c.mentions), "\(c.name): '\(c.mentions)' not in: \(m)")
    }

    @Test("a truncated .bin at every byte of a real network is an error, never a trap")
    func truncatedEverywhere() throws {
        let param = try String(contentsOf: NCNNImportTests.fixtures.appendingPathComponent("elementwise-layers.param"), encoding: .utf8)
        let bin = [UInt8](try Data(contentsOf: NCNNImportTests.fixtures.appendingPathComponent("elementwise-layers.bin")))
        for cut in stride(from: 0, to: bin.count, by: 37) {
            let m = try Self.ncnnError(param, bin: Array(bin.prefix(cut)))
            #expect(m.contains("m.bin") && (m.contains("truncated") || m.contains("ends at byte")), "cut at \(cut): \(m)")
        }
    }

    /// The error `body` throws, described; nil when it returns.
    static func thrown(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    @Test("a .param that is not a regular file or not text is refused")
    func notAFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("upres-dir-\(UUID().uuidString).param")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = Self.thrown { _ = try Model(ncnnParam: dir) }
        #expect(d?.contains("not a regular file") == true && d?.contains(dir.path) == true, "\(d ?? "loaded")")
        let m = try Self.ncnnError("7767517\n1 1\nInput in 0 1 data\n\u{FF}")
        #expect(m.contains("m.param"), "\(m)")
        var bytes = [UInt8]("7767517\n1 1\nInput in 0 1 data\n".utf8)
        bytes.append(0xFF)   // invalid UTF-8
        let url = try NCNNImportTests.write("")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try Data(bytes).write(to: url)
        #expect(Self.thrown { _ = try Model(ncnnParam: url) }?.contains("not UTF-8") == true)
    }

    @Test("model files are read only when regular and of a sane size")
    func reader() throws {
        #expect(Self.thrown { _ = try ModelFileReader.read(URL(fileURLWithPath: "/dev/zero")) }?.contains("not a regular file") == true)
        #expect(Self.thrown { _ = try ModelFileReader.read(URL(fileURLWithPath: "/nonexistent/m.bin")) }?.contains("no such file") == true)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("upres-reader-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(count: 4096).write(to: url)
        #expect(Self.thrown { _ = try ModelFileReader.read(url, limit: 1024) }?.contains("4096 bytes") == true)
        #expect(try ModelFileReader.read(url).count == 4096)
    }

    // MARK: - Graph limits (both formats)

    static func graph(_ op: UpresEngine.Operation, inputs: [Int] = [0]) -> Graph {
        Graph(nodes: [Node(op: .input, inputs: [], name: "input"), Node(op: op, inputs: inputs, name: "op")], output: 1)
    }

    @Test("operations outside the engine's limits are graph errors, not traps")
    func graphLimits() throws {
        let x = Tensor.Shape(1, 3, 16, 16)
        let w = Tensor(zeros: .init(3, 3, 3, 3))
        let bad: [(String, Graph)] = [
            ("pooling stride 0", Self.graph(.maxPool(kernel: 3, stride: 0, padding: 1))),
            ("pixel shuffle 0", Self.graph(.pixelShuffle(0))),
            ("nearest upsample by a million", Self.graph(.nearestUpsample(1_000_000))),
            ("pad of Int.max", Self.graph(.pad(Padding(top: Int.max, left: 0, bottom: Int.max, right: 0, mode: .replicate)))),
            ("crop of Int.max", Self.graph(.crop(top: Int.max, left: 0, bottom: Int.max, right: 0))),
            ("crop-like at Int.max", Self.graph(.cropLike(top: Int.max, left: 0), inputs: [0, 0])),
            ("infinite resize", Self.graph(.resize(Resize(mode: .bilinear, scaleY: .infinity, scaleX: 2)))),
            ("NaN resize", Self.graph(.resize(Resize(mode: .nearest, scaleY: .nan, scaleX: .nan)))),
            ("conv stride 0", Self.graph(.conv(Convolution(weights: w, bias: nil, stride: 0)))),
            ("conv padding Int.max", Self.graph(.conv(Convolution(weights: w, bias: nil, padding: Int.max)))),
            ("conv of empty weights", Self.graph(.conv(Convolution(weights: Tensor(zeros: .init(0, 3, 3, 3)), bias: nil)))),
            ("conv with too few biases", Self.graph(.conv(Convolution(weights: w, bias: [0])))),
            ("conv groups not dividing", Self.graph(.conv(Convolution(weights: Tensor(zeros: .init(3, 1, 3, 3)), bias: nil, groups: 2)))),
            ("conv groups that overflow", Self.graph(.conv(Convolution(weights: Tensor(zeros: .init(1, 2, 1, 1)), bias: nil,
                                                                        groups: Int.max)))),
            ("add of one input", Self.graph(.add)),
            ("output out of range", Graph(nodes: [Node(op: .input, inputs: [], name: "input")], output: 5)),
            ("a huge tensor", Self.graph(.nearestUpsample(16), inputs: [0])),
        ]
        for (name, g) in bad {
            let input = name == "a huge tensor" ? Tensor.Shape(1, 5000, 64, 64) : x
            #expect(throws: GraphError.self, "\(name)") { _ = try g.shapes(input: input) }
        }
        // A graph within the limits still counts its multiply-adds.
        let big = Convolution(weights: Tensor(zeros: .init(1, 1, 1, 1)), bias: nil)
        var nodes = [Node(op: .input, inputs: [], name: "input")]
        for i in 0..<3 { nodes.append(Node(op: .conv(big), inputs: [i], name: "c\(i)")) }
        #expect(try Graph(nodes: nodes, output: 3).multiplyAdds(input: .init(1, 1, 8, 8)) == 3 * 64)
    }

    // MARK: - safetensors

    /// A safetensors file from a header (re-encoded) and payload bytes.
    static func safetensors(_ header: [String: Any], payload: [UInt8]) throws -> Data {
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        return Data((0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) } + json + payload)
    }

    static func safetensorsError(_ entry: [String: Any], payload: Int = 16) throws -> String {
        do { _ = try SafeTensorsFile(data: try safetensors(["t": entry], payload: [UInt8](repeating: 0, count: payload))) } catch {
            return "\(error)"
        }
        Issue.record("parsed: \(entry)")
        return ""
    }

    @Test("hostile safetensors headers are errors")
    func hostileSafetensors() throws {
        let cases: [([String: Any], String)] = [
            (["dtype": "F32", "shape": [1 << 32, 1 << 32, 16], "data_offsets": [0, 4]], "has 4 bytes for shape"),
            (["dtype": "F32", "shape": [1 << 50, 1 << 13], "data_offsets": [0, 16]], "has 16 bytes"),
            (["dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]], "outside the file"),
            (["dtype": "F32", "shape": [4], "data_offsets": [-4, 12]], "outside the file"),
            (["dtype": "F32", "shape": [1], "data_offsets": [8, 4]], "outside the file"),
            (["dtype": "F32", "shape": [4], "data_offsets": [Int.max - 8, Int.max]], "malformed"),   // beyond 2^53
            (["dtype": "F32", "shape": [4], "data_offsets": [1.5, 17.5]], "malformed"),
            (["dtype": "F32", "shape": [4], "data_offsets": [0, 1e300]], "malformed"),
            (["dtype": "F32", "shape": ["4"], "data_offsets": [0, 16]], "malformed"),
            (["dtype": "F32", "shape": [-4], "data_offsets": [0, 16]], "negative dimension"),
            (["dtype": "F32", "shape": [1, 1, 1, 1, 1, 1, 1, 1, 1, 4], "data_offsets": [0, 16]], "10 dimensions"),
            (["dtype": "F64", "shape": [2], "data_offsets": [0, 16]], "unsupported dtype"),
            (["dtype": 7, "shape": [4], "data_offsets": [0, 16]], "malformed"),
        ]
        for (entry, mention) in cases {
            let m = try Self.safetensorsError(entry)
            #expect(m.contains(mention), "\(entry): '\(mention)' not in: \(m)")
        }
        // Header length fields: zero, past the end, huge.
        for n in [0, 1, 100, Int(Int32.max), -1] {
            var d = [UInt8](try Self.safetensors(["t": ["dtype": "F32", "shape": [1], "data_offsets": [0, 4]]], payload: [0, 0, 0, 0]))
            for k in 0..<8 { d[k] = UInt8(truncatingIfNeeded: n >> (8 * k)) }
            #expect(throws: ModelFileError.self, "header length \(n)") { _ = try SafeTensorsFile(data: Data(d)) }
        }
    }

    /// A golden model with edited metadata: the error loading it.
    static func metadataError(_ model: String, _ edit: (inout [String: String]) -> Void) throws -> String {
        let file = try SafeTensorsFile(contentsOf: ArchitectureTests.goldens.appendingPathComponent("\(model).safetensors"))
        var meta = file.metadata
        edit(&meta)
        let tensors = try file.entries.keys.sorted().map { ($0, try file.tensor($0)) }
        do { _ = try Model(file: SafeTensorsFile(data: SafeTensorsFile.encode(tensors, metadata: meta)), name: "m", source: "m.safetensors") }
        catch { return "\(error)" }
        Issue.record("loaded \(model) with \(meta)")
        return ""
    }

    @Test("hostile model metadata is an error naming the file")
    func hostileMetadata() throws {
        for rf in ["-5", "0", "999999999999", "9223372036854775807", "21.5", "lots"] {
            let m = try Self.metadataError("plain-x2-prelu") { $0["receptive_field"] = rf }
            #expect(m.hasPrefix("m.safetensors: ") && m.contains("receptive_field"), "\(rf): \(m)")
        }
        #expect(try Self.metadataError("bsrn-x2-cca") { $0["config"] = "{\"input_repeat\": 0}" }.contains("input_repeat 0"))
        #expect(try Self.metadataError("bsrn-x2-cca") { $0["config"] = "{\"input_repeat\": -3}" }.contains("input_repeat -3"))
        #expect(try Self.metadataError("bsrn-x2-cca") { $0["config"] = "{\"num_blocks\": -1}" }.contains("num_blocks -1"))
        #expect(try Self.metadataError("plain-x2-prelu") { $0["scale"] = "99999999999999999999" }.contains("scale"))
        let rgb = try Self.metadataError("plain-x2-prelu") { $0["in_channels"] = "3" }
        #expect(rgb.hasPrefix("m.safetensors: "), "\(rgb)")
        // A receptive field in range, and "global", load.
        let file = try SafeTensorsFile(contentsOf: ArchitectureTests.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        #expect(try Model(file: file, name: "m").info.receptiveField == 13)
    }

    @Test("shapes that do not fit the architecture are errors")
    func misfitShapes() throws {
        let file = try SafeTensorsFile(contentsOf: ArchitectureTests.goldens.appendingPathComponent("bsrn-x2-cca.safetensors"))
        var tensors = try file.entries.keys.sorted().map { ($0, try file.tensor($0)) }
        // head.pw as a 0 x C x 1 x 1 (empty) and as a 3x3 kernel.
        for shape in [Tensor.Shape(0, 4, 1, 1), Tensor.Shape(2, 4, 3, 3)] {
            let k = tensors.firstIndex { $0.0 == "head.pw.weight" }!
            tensors[k].1 = Tensor(zeros: shape)
            let data = try SafeTensorsFile.encode(tensors, metadata: file.metadata)
            #expect(throws: ModelFileError.self, "\(shape)") { try Model(file: SafeTensorsFile(data: data), name: "m") }
        }
    }
}
