import Foundation
import CUpresModels

/// Trained models compiled into the binary (Sources/CUpresModels/models/, embedded with .incbin),
/// so upres needs no files beside it.
public enum EmbeddedModels {
    /// Names of the embedded models, in file-name order.
    public static var names: [String] { all.map(\.name) }

    static let all: [(name: String, data: Data)] = {
        var count: Int32 = 0
        guard let list = upres_embedded_models(&count) else { return [] }
        return (0..<Int(count)).map { i in
            let m = list[i]
            return (String(cString: m.name), Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: m.data), count: m.size,
                                                  deallocator: .none))
        }
    }()

    /// Loads an embedded model by name.
    public static func model(named name: String) throws -> Model? {
        guard let entry = all.first(where: { $0.name == name }) else { return nil }
        return try Model(file: SafeTensorsFile(data: entry.data), name: name, source: "built-in model \(name)")
    }

    /// The bytes of an embedded model file.
    public static func data(named name: String) -> Data? { all.first { $0.name == name }?.data }
}
