import Foundation

enum Diagnostics {
    static func error(_ message: String) { write("upres: error: \(message)") }
    static func warning(_ message: String) { write("upres: warning: \(message)") }
    static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
