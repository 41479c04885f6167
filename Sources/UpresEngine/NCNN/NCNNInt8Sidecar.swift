import Foundation

/// int8 calibration of an ncnn model, kept beside it as `NAME.int8.json` (the community files
/// stay untouched): the metadata `upres calibrate` would write into an upres model file
/// (`int8_ranges`, `int8_psnr_delta_db`, `int8_check`) and a fingerprint of `NAME.bin`, so a
/// calibration is never applied to other weights.
///
///     { "weights_fnv1a64": "9f0c…", "metadata": { "int8_ranges": "[[…]]", "int8_psnr_delta_db": "-0.0210", … } }
public enum NCNNInt8Sidecar {
    static let keys: Set<String> = [Int8Calibration.metadataKey, Int8Calibration.deltaKey, Int8Calibration.floatKey, "int8_check"]

    /// `NAME.int8.json` for `NAME.param`.
    public static func url(forParam param: URL) -> URL {
        param.deletingPathExtension().appendingPathExtension("int8.json")
    }

    /// FNV-1a (64-bit) of the weights file, as hex.
    public static func fingerprint(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return String(format: "%016llx", h)
    }

    /// The side-car's contents for these metadata entries and weights.
    public static func encode(metadata: [String: String], weights: [UInt8]) throws -> Data {
        let obj: [String: Any] = ["weights_fnv1a64": fingerprint(weights), "metadata": metadata.filter { keys.contains($0.key) }]
        return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    /// The calibration metadata for `param`, when a side-car is there; throws when it is
    /// unreadable or belongs to other weights.
    static func read(forParam param: URL, weights: [UInt8]) throws -> [String: String] {
        let url = url(forParam: param)
        guard FileManager.default.fileExists(atPath: url.path) else { return [:] }
        func fail(_ m: String) -> NCNNError { NCNNError("\(url.path): \(m)") }
        guard let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let print = obj["weights_fnv1a64"] as? String, let meta = obj["metadata"] as? [String: String] else {
            throw fail("not an int8 calibration written by upres calibrate (JSON with weights_fnv1a64 and metadata)")
        }
        guard print == fingerprint(weights) else {
            throw fail("the int8 calibration of other weights (\(param.deletingPathExtension().lastPathComponent).bin changed): "
                       + "run upres calibrate again, or delete it")
        }
        return meta.filter { keys.contains($0.key) }
    }
}
