import Foundation

/// Reads a model file whole, refusing what is not one: a device, pipe or folder (`--model
/// /dev/zero` would read forever) and files above `maxBytes`.
enum ModelFileReader {
    /// Larger than any super-resolution network (Real-ESRGAN x4plus is 67 MB, HAT-L 160 MB).
    static let maxBytes = 2 << 30

    /// The file's bytes; errors say why without the path (callers add it).
    static func read(_ url: URL, options: Data.ReadingOptions = [], limit: Int = maxBytes) throws -> Data {
        let attributes: [FileAttributeKey: Any]
        let resolved = url.resolvingSymlinksInPath()   // attributesOfItem describes a link itself
        do { attributes = try FileManager.default.attributesOfItem(atPath: resolved.path) } catch {
            throw ModelFileError("cannot read: \(FileManager.default.fileExists(atPath: url.path) ? "permission denied" : "no such file")")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw ModelFileError("not a regular file") }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= limit else {
            throw ModelFileError("is \(size) bytes; upres reads model files up to \(limit >> 20) MiB (not a model, or damaged?)")
        }
        do { return try Data(contentsOf: url, options: options) } catch {
            throw ModelFileError("cannot read: \(error.localizedDescription)")
        }
    }
}
