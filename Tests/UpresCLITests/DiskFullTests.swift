import Foundation
import Testing

/// A full disk for real: a small tmpfs (needs root to mount; skipped otherwise).
@Suite("Disk full", .serialized)
struct DiskFullTests {
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let dir = NSTemporaryDirectory() + "upres-mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { _ = try? Shell.run("/bin/umount", [dir]); rmdir(dir) }
        return (try? Shell.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]))?.status == 0
    }()

    @Test("a clear error naming the problem, nothing half-written in place, and the job resumes once there is room",
          .enabled(if: canMount, "needs root to mount a small tmpfs"))
    func diskFull() throws {
        let s = try Scratch()
        let dir = s.file("small")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try Shell.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir]).status == 0)
        defer { _ = try? Shell.run("/bin/umount", [dir]) }
        let input = try s.copy(ResumeTests.clip)
        let args = [input, "-o", dir + "/out.mkv"] + ResumeTests.args
        let full = try Upres.run(args, cwd: s.path)
        #expect(full.status == 1)
        #expect(full.stderr.contains("space"), "\(full.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.mkv"), "no partial file under the output's name")
        let done = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/.out.mkv.upres"))?.filter { $0.hasSuffix(".seg") } ?? []
        #expect(!done.isEmpty, "the segments finished before the disk filled are kept for the rerun")
        // Room again: the rerun continues from the segments that were finished.
        #expect(try Shell.run("/bin/mount", ["-o", "remount,size=256m", dir]).status == 0)
        let again = try Upres.run(args, cwd: s.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Probe.frameCount(dir + "/out.mkv") == 384)
        #expect(try ResumeTests.frameHashes(dir + "/out.mkv").count == 384)
    }
}
