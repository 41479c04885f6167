import Foundation

/// Reads an ncnn `.bin` the way ncnn's ModelBinFromDataReader does: layers' weights one after
/// another in `.param` order, with no names or shapes, so every read must know its size.
///
/// `type 0` arrays (convolution weights) start with a 4-byte tag: 0x01306B47 fp16,
/// 0x000D4B38 int8, 0x0002C056 fp32 (with extra scaling), any other non-zero bytes a
/// 256-entry fp32 table followed by one uint8 index per value, all zero raw fp32. fp16,
/// int8 and index payloads are padded to 4 bytes. `type 1` arrays (biases, slopes, scales)
/// are raw fp32 with no tag.
struct NCNNWeightReader {
    static let fp16Tag: UInt32 = 0x0130_6B47
    static let int8Tag: UInt32 = 0x000D_4B38
    static let scaledFP32Tag: UInt32 = 0x0002_C056

    /// Values read, and whether they were stored as int8 (to be dequantized by the layer).
    struct Array {
        var values: [Float]
        var int8: Bool
    }

    let bytes: [UInt8]
    let source: String
    private(set) var offset = 0

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int, _ layer: NCNNLayer, _ what: String) throws -> ArraySlice<UInt8> {
        guard n <= remaining else {
            throw NCNNError("\(source): ends at byte \(bytes.count) while reading \(what) of \(layer.label): "
                            + "\(n) bytes needed, \(remaining) left (truncated, or not the .bin of this .param?)")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    /// Bytes of `count` values of `size` bytes, padded to 4 when `aligned`; more than the file
    /// holds (or an overflowing product) is reported as the truncation it would be.
    private func byteCount(_ count: Int, _ size: Int, aligned: Bool, _ layer: NCNNLayer, _ what: String) throws -> Int {
        guard count <= remaining / size else {
            throw NCNNError("\(source): \(what) of \(layer.label) needs \(count) values of \(size) bytes, "
                            + "\(remaining) bytes left (truncated, or a count in the .param is wrong?)")
        }
        return aligned ? (count * size + 3) / 4 * 4 : count * size
    }

    private static func floats(_ s: ArraySlice<UInt8>, _ count: Int) -> [Float] {
        s.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) } }
    }

    /// `count` values of `type` (0: tagged, 1: raw fp32).
    mutating func load(_ count: Int, type: Int, layer: NCNNLayer, what: String) throws -> Array {
        guard count >= 0 else { throw layer.fail("\(what): negative size \(count)") }
        guard type == 0 || type == 1 else { throw layer.fail("\(what): weight storage type \(type) (0 or 1)") }
        if type == 1 {
            let raw = try take(try byteCount(count, 4, aligned: false, layer, what), layer, what)
            return Array(values: NCNNWeightReader.floats(raw, count), int8: false)
        }
        let tagBytes = try take(4, layer, "the storage tag of \(what)")
        let tag = tagBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        switch tag {
        case NCNNWeightReader.fp16Tag:
            let raw = try take(try byteCount(count, 2, aligned: true, layer, what), layer, "\(count) fp16 values of \(what)")
            let values = raw.withUnsafeBytes { r in
                (0..<count).map { Float(Float16(bitPattern: r.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
            }
            return Array(values: values, int8: false)
        case NCNNWeightReader.int8Tag:
            let raw = try take(try byteCount(count, 1, aligned: true, layer, what), layer, "\(count) int8 values of \(what)")
            return Array(values: raw.prefix(count).map { Float(Int8(bitPattern: $0)) }, int8: true)
        case NCNNWeightReader.scaledFP32Tag, 0:
            let raw = try take(try byteCount(count, 4, aligned: false, layer, what), layer, "\(count) fp32 values of \(what)")
            return Array(values: NCNNWeightReader.floats(raw, count), int8: false)
        default:
            // Any other non-zero tag: a 256-entry table, then one index byte per value.
            let table = NCNNWeightReader.floats(try take(256 * 4, layer, "the quantization table of \(what)"), 256)
            let indices = try take(try byteCount(count, 1, aligned: true, layer, what), layer, "\(count) table indices of \(what)")
            return Array(values: indices.prefix(count).map { table[Int($0)] }, int8: false)
        }
    }
}
