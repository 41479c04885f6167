import Foundation
import Testing

/// The layout rules of the frame-path redesign, checked on the sources themselves: every Swift file
/// in `Sources/` stays at most 450 lines (a file does one job), and nothing in `Sources/` waits by
/// sleeping (stop and pause wait on conditions), and FFmpeg is imported only by the media layer
/// (`UpresMedia` and its shims; above it the compiler's MemberImportVisibility keeps C fields out
/// of reach too). The Python side reads and writes model files with
/// the `safetensors` package, not a hand-written parser (its tests may still check the raw layout).
@Suite("Source layout")
struct SourceLayoutTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func files(under folder: String, suffix: String) throws -> [URL] {
        let base = root.appendingPathComponent(folder)
        guard let walk = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return walk.compactMap { $0 as? URL }
            .filter { $0.lastPathComponent.hasSuffix(suffix) && !$0.path.contains("/.venv/") }
    }

    @Test("no Swift source file is over 450 lines")
    func fileLength() throws {
        let swift = try Self.files(under: "Sources", suffix: ".swift")
        #expect(swift.count > 100, "found \(swift.count) Swift files under \(Self.root.path)/Sources")
        for file in swift {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let count = lines.last == "" ? lines.count - 1 : lines.count
            #expect(count <= 450, "\(file.path): \(count) lines")
        }
    }

    @Test("nothing in Sources waits by sleeping")
    func noSleepPolling() throws {
        let pattern = try Regex(#"\b(usleep|nanosleep|sleep)\s*\(|Thread\.sleep|Task\.sleep"#)
        for file in try Self.files(under: "Sources", suffix: ".swift") + Self.files(under: "Sources", suffix: ".c") {
            for (n, line) in try String(contentsOf: file, encoding: .utf8).split(separator: "\n").enumerated()
            where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                #expect(line.firstMatch(of: pattern) == nil, "\(file.path):\(n + 1): \(line)")
            }
        }
    }

    @Test("only the media layer imports FFmpeg")
    func ffmpegStaysInTheMediaLayer() throws {
        let pattern = try Regex(#"^\s*(@_exported\s+|public\s+|internal\s+)?import\s+(CFFmpeg|CMediaShims)\b"#)
        let media = ["Sources/UpresMedia/", "Sources/CMediaShims/", "Sources/CFFmpeg/"]
        let swift = try Self.files(under: "Sources", suffix: ".swift")
        #expect(swift.contains { $0.path.contains("/Sources/UpresMedia/") })
        for file in swift where !media.contains(where: { file.path.contains("/" + $0) }) {
            for (n, line) in try String(contentsOf: file, encoding: .utf8).split(separator: "\n").enumerated() {
                let imports = line.firstMatch(of: pattern) != nil
                #expect(!imports, "\(file.path):\(n + 1): \(line)")
            }
        }
    }

    @Test("Python reads safetensors with the package, not by hand")
    func pythonUsesThePackage() throws {
        let python = try Self.files(under: "training", suffix: ".py") + Self.files(under: "bench", suffix: ".py")
        #expect(python.count > 10)
        // Tests may read the raw bytes to check the layout the package writes.
        for file in python where !file.path.contains("/tests/") {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains("struct.unpack(\"<Q\""), "\(file.path) parses a safetensors header by hand")
        }
    }
}
