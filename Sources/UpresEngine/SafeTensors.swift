import Foundation

/// A problem with a weights file: named, with the cause, never a crash.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A safetensors file: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to dtype / shape / byte range, then the raw little-endian tensor data.
/// `__metadata__` holds string key/values (upres keeps the architecture there; docs/model-format.md).
public struct SafeTensorsFile: Sendable {
    public struct Entry: Sendable {
        public var dtype: String
        public var shape: [Int]
        public var range: Range<Int>
    }

    public let metadata: [String: String]
    public let entries: [String: Entry]
    private let payload: Data

    public init(contentsOf url: URL) throws {
        try self.init(data: try ModelFileReader.read(url, options: .mappedIfSafe))
    }

    public init(data: Data) throws {
        guard data.count >= 8 else { throw ModelFileError("too short to be a safetensors file (\(data.count) bytes)") }
        var headerLength: UInt64 = 0
        for (i, byte) in data.prefix(8).enumerated() { headerLength |= UInt64(byte) << UInt64(8 * i) }
        guard headerLength > 1, headerLength <= 100_000_000, 8 + Int(headerLength) <= data.count else {
            throw ModelFileError("not a safetensors file or truncated (header length \(headerLength), file \(data.count) bytes)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw ModelFileError("the safetensors header is not valid JSON")
        }
        payload = data.subdata(in: (8 + Int(headerLength))..<data.count)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw ModelFileError("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw ModelFileError("metadata '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = SafeTensorsFile.integers(info["shape"]), let offsets = SafeTensorsFile.integers(info["data_offsets"]),
                  offsets.count == 2
            else { throw ModelFileError("tensor '\(name)' has a malformed header entry") }
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, start <= end, end <= payload.count else {
                throw ModelFileError("tensor '\(name)' lies outside the file (bytes \(start)..<\(end) of \(payload.count); truncated?)")
            }
            guard shape.count <= SafeTensorsFile.maxDimensions else {
                throw ModelFileError("tensor '\(name)' has \(shape.count) dimensions")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw ModelFileError("tensor '\(name)' has a negative dimension") }
            guard let size = SafeTensorsFile.elementSize(dtype) else {
                throw ModelFileError("tensor '\(name)' has unsupported dtype \(dtype) (F32, F16, BF16 are supported)")
            }
            guard let count = Checked.product(shape), let bytes = Checked.product([count, size]), bytes == end - start else {
                throw ModelFileError("tensor '\(name)' has \(end - start) bytes for shape \(shape) of \(dtype)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: start..<end)
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// Tensors upres reads have at most 4 dimensions; the format allows a few more.
    static let maxDimensions = 8

    /// A JSON array of whole numbers below 2^53 (exact in a Double; no file is that large), else nil.
    static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        for v in array {
            guard let n = v as? NSNumber else { return nil }
            let d = n.doubleValue
            guard d.isFinite, d == d.rounded(), d.magnitude < 0x1p53 else { return nil }
            out.append(Int(d))
        }
        return out
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32": return 4
        case "F16", "BF16": return 2
        default: return nil
        }
    }

    /// The tensor's values as Float32 (F16 and BF16 are widened).
    public func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw ModelFileError("missing tensor '\(name)'") }
        let bytes = payload.subdata(in: e.range)
        let count = e.shape.reduce(1, *)
        return bytes.withUnsafeBytes { raw -> [Float] in
            switch e.dtype {
            case "F32":
                return (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case "BF16":
                return (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
            default:
                return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
            }
        }
    }

    /// A tensor as 4-D NCHW (shorter shapes are padded with leading 1s).
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw ModelFileError("missing tensor '\(name)'") }
        guard e.shape.count <= 4 else { throw ModelFileError("tensor '\(name)' has \(e.shape.count) dimensions") }
        let s = [Int](repeating: 1, count: 4 - e.shape.count) + e.shape
        return Tensor(shape: .init(s[0], s[1], s[2], s[3]), data: try floats(name))
    }

    /// Writes tensors (F32) and metadata as a safetensors file.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String], to url: URL) throws {
        try encode(tensors, metadata: metadata).write(to: url, options: .atomic)
    }

    /// Tensors (F32, written with their 4-D shape) and metadata as safetensors bytes.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        var body = Data()
        for (name, t) in tensors {
            header[name] = ["dtype": "F32", "shape": [t.shape.n, t.shape.c, t.shape.h, t.shape.w],
                            "data_offsets": [offset, offset + 4 * t.data.count]]
            for v in t.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            offset += 4 * t.data.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }
}
