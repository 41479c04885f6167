import Foundation

/// A file that is not a usable ncnn model, with where and why.
public struct NCNNError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A parameter value of a layer line: `k=v` (int or float) or `-233kk=n,v1,...,vn` (array).
/// ncnn decides int or float by whether the text has a '.' or an 'e'.
public enum NCNNParamValue: Equatable, Sendable {
    case int(Int)
    case float(Float)
    case array([Float])
}

/// One layer line of an ncnn text `.param` file:
/// `Type name bottom_count top_count bottoms... tops... k=v ...`.
public struct NCNNLayer: Sendable {
    public var type: String
    public var name: String
    public var bottoms: [String]
    public var tops: [String]
    public var params: [Int: NCNNParamValue]
    /// 1-based line in the file.
    public var line: Int
    /// The `.param` path, for messages.
    public var source: String = ""

    /// "layer 'Conv_0' (Convolution, line 5)", for messages.
    public var label: String { "layer '\(name)' (\(type), line \(line))" }

    func fail(_ message: String) -> NCNNError { NCNNError("\(source.isEmpty ? "" : "\(source): ")\(label): \(message)") }

    /// A float parameter used as an integer (array elements): whole and within Int32, as in ncnn.
    func integer(_ f: Float, _ what: String) throws -> Int {
        guard f.isFinite, f == f.rounded(), f.magnitude <= Float(Int32.max) else {
            throw fail("\(what) must be an integer, got \(f)")
        }
        return Int(f)
    }

    public func int(_ id: Int, _ def: Int) throws -> Int {
        switch params[id] {
        case nil: return def
        case .int(let v): return v
        case .float(let f):
            return try integer(f, "parameter \(id)")
        case .array: throw fail("parameter \(id) must be a number, got an array")
        }
    }

    public func float(_ id: Int, _ def: Float) throws -> Float {
        switch params[id] {
        case nil: return def
        case .int(let v): return Float(v)
        case .float(let f): return f
        case .array: throw fail("parameter \(id) must be a number, got an array")
        }
    }

    public func array(_ id: Int) throws -> [Float]? {
        switch params[id] {
        case nil: return nil
        case .array(let a): return a
        case .int(let v): return [Float(v)]
        case .float(let f): return [f]
        }
    }
}

/// An ncnn text `.param` file (magic 7767517): the layer list in file order.
///
///     let file = try NCNNParamFile(text: String(contentsOf: url), source: url.path)
///     file.layers.first?.type   // "Input"
public struct NCNNParamFile: Sendable {
    public static let magic = "7767517"
    /// ncnn's NCNN_MAX_PARAM_COUNT: parameter ids are 0...31.
    static let maxParamID = 32
    /// Larger than the text of any network (SPAN x2 is 11 KB, Real-ESRGAN x4plus 85 KB).
    static let maxBytes = 64 << 20

    public var layers: [NCNNLayer]
    public var blobCount: Int

    public init(text: String, source: String) throws {
        func fail(_ line: Int, _ m: String) -> NCNNError { NCNNError("\(source): line \(line): \(m)") }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()   // \n and \r\n
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .filter { !$0.text.isEmpty }
        guard let first = lines.first else { throw NCNNError("\(source): empty file, not an ncnn .param") }
        guard first.text == NCNNParamFile.magic else {
            if first.text.unicodeScalars.contains(where: { $0.value < 9 }) || text.utf8.prefix(4).elementsEqual([0x55, 0xD5, 0x75, 0x00]) {
                throw fail(first.number, "binary .param.bin files are not supported; use the text .param")
            }
            throw fail(first.number, "bad magic '\(first.text.prefix(20))': an ncnn text .param starts with \(NCNNParamFile.magic)")
        }
        lines.removeFirst()
        guard let header = lines.first else { throw fail(first.number, "no layer count line after the magic") }
        lines.removeFirst()
        let counts = header.text.split(whereSeparator: \.isWhitespace).map { Int32($0).map(Int.init) }
        guard counts.count == 2, let layerCount = counts[0], let blobs = counts[1], layerCount > 0, blobs > 0 else {
            throw fail(header.number, "expected 'layer_count blob_count', got '\(header.text.prefix(40))'")
        }
        blobCount = blobs
        layers = []
        for entry in lines {
            layers.append(try NCNNParamFile.parseLayer(entry.text, line: entry.number, source: source))
        }
        guard layers.count == layerCount else {
            throw NCNNError("\(source): the header says \(layerCount) layers, the file has \(layers.count)")
        }
        var produced = Set<String>()
        for l in layers {
            for b in l.bottoms where !produced.contains(b) {
                throw NCNNError("\(source): \(l.label) reads blob '\(b)', which no earlier layer produces")
            }
            produced.formUnion(l.tops)
        }
        guard produced.count <= blobCount else {
            throw NCNNError("\(source): \(produced.count) blobs, the header says \(blobCount)")
        }
    }

    static func parseLayer(_ text: String, line: Int, source: String) throws -> NCNNLayer {
        func fail(_ m: String) -> NCNNError { NCNNError("\(source): line \(line): \(m)") }
        let t = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard t.count >= 4, let nb = Int(t[2]), let nt = Int(t[3]), nb >= 0, nt >= 0 else {
            throw fail("expected 'Type name bottom_count top_count ...', got '\(text.prefix(60))'")
        }
        guard nb <= t.count - 4, nt <= t.count - 4 - nb else {
            throw fail("layer '\(t[1])' (\(t[0])) lists \(nb) inputs and \(nt) outputs but has only \(t.count - 4) names")
        }
        var layer = NCNNLayer(type: t[0], name: t[1], bottoms: Array(t[4..<(4 + nb)]),
                              tops: Array(t[(4 + nb)..<(4 + nb + nt)]), params: [:], line: line, source: source)
        for token in t[(4 + nb + nt)...] {
            guard let eq = token.firstIndex(of: "="), var id = Int(token[..<eq]) else {
                throw layer.fail("parameter '\(token)' is not key=value")
            }
            let value = String(token[token.index(after: eq)...])
            let isArray = id <= -23300
            if isArray { id = -(id + 23300) }   // no overflow, even for Int.min
            guard id >= 0 && id < maxParamID else { throw layer.fail("parameter id \(id) is out of range 0...31") }
            if isArray {
                let parts = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard let n = Int(parts[0]), n >= 0, parts.count - 1 == n else {
                    throw layer.fail("array parameter '\(token.prefix(40))' does not start with its length")
                }
                var values: [Float] = []
                for p in parts.dropFirst() {
                    guard let v = parseNumber(p) else { throw layer.fail("'\(p)' in parameter \(id) is not a number") }
                    switch v { case .int(let i): values.append(Float(i)); case .float(let f): values.append(f); case .array: break }
                }
                layer.params[id] = .array(values)
            } else {
                guard let v = parseNumber(value) else { throw layer.fail("parameter \(id) value '\(value)' is not a number") }
                layer.params[id] = v
            }
        }
        return layer
    }

    /// ncnn reads ints as C `int`: a value outside Int32 is not a number of this format.
    static func parseNumber(_ s: String) -> NCNNParamValue? {
        if s.contains(".") || s.lowercased().contains("e") { return Float(s).map { .float($0) } }
        return Int32(s).map { .int(Int($0)) }
    }
}
