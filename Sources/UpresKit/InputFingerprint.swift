import UpresMedia
import Foundation

/// Cheap identity of an input file: size, modification time and hashes of its first and
/// last MiB (a changed file almost always changes one of them).
enum InputFingerprint {
    static func of(_ path: String) throws -> String {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        guard let h = FileHandle(forReadingAtPath: path) else { throw JobError(file: path, message: "cannot read") }
        defer { try? h.close() }
        let head = h.readData(ofLength: 1 << 20)
        try h.seek(toOffset: UInt64(max(0, size - (1 << 20))))
        let tail = h.readData(ofLength: 1 << 20)
        return "\(size)-\(Int64(mtime * 1000))-\(String(fnv(head), radix: 16))-\(String(fnv(tail), radix: 16))"
    }

    static func fnv(_ d: Data) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in d { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}
