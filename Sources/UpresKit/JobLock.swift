import UpresMedia
import Foundation

/// An exclusive lock on a job's work folder (`flock`), so a second upres on the same output
/// refuses instead of corrupting it. Released when the process ends, however it ends.
final class JobLock {
    private let fd: Int32
    init(_ url: URL, output: String) throws {
        fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw JobError(file: output, action: "cannot create the lock file \(url.path)", systemError: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let pid = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw JobError(file: output, message: "another upres (pid \(pid)) is writing this output; wait for it to finish")
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }
    deinit { close(fd) }
}

