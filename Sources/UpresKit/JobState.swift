import UpresMedia
import Foundation

/// What a resumable job has done, in `state.json` of its work folder (written atomically).
struct JobState: Codable, Equatable {
    var version = 1
    var input: String
    var fingerprint: String
    var settings: String
    var boundaries: [Int64]
    var done: [Bool]
    var frames: [Int]
    /// `KeyframeIndex.jumpsBack`: a stopped segment is redone whole, not cut (nil in older states).
    var timesJumpBack: Bool? = nil

    static func load(_ url: URL) -> JobState? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(JobState.self, from: data)
    }

    func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let tmp = url.appendingPathExtension("tmp")
        let data = try enc.encode(self)
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw JobError(file: url.path, action: "cannot write the job state", systemError: errno) }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp.path, url.path) == 0 else {
            throw JobError(file: url.path, action: "cannot write the job state", systemError: errno)
        }
    }
}

