import Foundation

extension SafeTensorsFile {
    /// The bytes of the safetensors file `data` with its `__metadata__` replaced by `metadata`:
    /// the tensor entries and their bytes are kept as they are (offsets count from the end of
    /// the header), the new header is padded with spaces to a multiple of 8 bytes.
    public static func replacingMetadata(in data: Data, with metadata: [String: String]) throws -> Data {
        _ = try SafeTensorsFile(data: data)   // validates the whole file first
        var length = 0
        for (i, byte) in data.prefix(8).enumerated() { length |= Int(byte) << (8 * i) }
        guard var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any] else {
            throw ModelFileError("the safetensors header is not a JSON object")
        }
        header["__metadata__"] = metadata
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data(capacity: 8 + json.count + data.count - 8 - length)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data.subdata(in: (8 + length)..<data.count))
        return out
    }
}
