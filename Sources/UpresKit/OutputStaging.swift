import Foundation
import UpresMedia

/// Checks that an output may be written: never the input, never an existing file
/// without `--overwrite`, and a folder that exists and is writable.
public enum OutputGuard {
    public static func check(input: String, output: String, overwrite: Bool) throws {
        func fail(_ m: String) -> JobError { JobError(file: output, message: m) }
        if StandardStream.isPipe(output) { return }   // stdout: nothing to overwrite
        let fm = FileManager.default
        let sequence = OutputNaming.isSequencePattern(output)
        if !sequence {
            if !StandardStream.isPipe(input) && sameFile(input, output) { throw fail("is the input file; choose another output name") }
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: output, isDirectory: &isDir) {
                if isDir.boolValue { throw fail("is a directory; give a file name") }
                if !overwrite { throw fail("already exists (use --overwrite to replace it)") }
            }
        } else if !overwrite {
            for n: Int32 in [0, 1] {
                if let first = OutputNaming.sequenceFile(output, number: n), fm.fileExists(atPath: first) {
                    throw fail("frame file \(first) already exists (use --overwrite to replace the sequence)")
                }
            }
        }
        let dir = folder(of: output)
        var isDir: ObjCBool = false
        if !fm.fileExists(atPath: dir, isDirectory: &isDir) {
            if !sequence { throw fail("output folder \(dir) does not exist") }
        } else {
            if !isDir.boolValue { throw fail("\(dir) is not a folder") }
            if access(dir, W_OK) != 0 { throw fail("output folder \(dir) is not writable") }
        }
    }

    static func folder(of path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}

/// Writes to a hidden temporary name in the output folder and renames it into place on
/// success, so a failed or interrupted run never leaves a half-written output, and never
/// touches an existing file until the new one is complete. Standard output (`-`) is written
/// directly: there is nothing to rename or remove.
public final class OutputStaging {
    public let finalPath: String
    /// Where the muxer writes (a temp file, or a pattern inside a temp folder for sequences).
    public let writePath: String
    private let tempFolder: String?
    private let overwrite: Bool
    private let pipe: Bool

    public init(finalPath: String, overwrite: Bool) throws {
        self.finalPath = finalPath
        self.overwrite = overwrite
        pipe = StandardStream.isPipe(finalPath)
        if pipe {
            tempFolder = nil
            writePath = StandardStream.url(reading: false)
            return
        }
        let dir = OutputGuard.folder(of: finalPath)
        let name = (finalPath as NSString).lastPathComponent
        let tag = "upres-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if OutputNaming.isSequencePattern(finalPath) {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let temp = (dir as NSString).appendingPathComponent(".\(tag).frames")
            do { try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: false) }
            catch { throw JobError(file: finalPath, message: "cannot create a temporary folder in \(dir): \(error.localizedDescription)") }
            tempFolder = temp
            writePath = (temp as NSString).appendingPathComponent(name)
        } else {
            tempFolder = nil
            writePath = (dir as NSString).appendingPathComponent(".\(name).\(tag).part")
        }
    }

    /// Moves the finished output into place.
    public func commit() throws {
        if pipe { return }
        let fm = FileManager.default
        if let temp = tempFolder {
            let dir = OutputGuard.folder(of: finalPath)
            let files = try fm.contentsOfDirectory(atPath: temp).sorted()
            for f in files {
                let target = (dir as NSString).appendingPathComponent(f)
                if !overwrite && fm.fileExists(atPath: target) {
                    throw JobError(file: target, message: "appeared while upres was running; not replaced")
                }
                guard rename((temp as NSString).appendingPathComponent(f), target) == 0 else {
                    throw JobError(file: target, action: "cannot move into place", systemError: errno)
                }
            }
            rmdir(temp)
        } else {
            if !overwrite && fm.fileExists(atPath: finalPath) {
                throw JobError(file: finalPath, message: "appeared while upres was running; not replaced")
            }
            guard rename(writePath, finalPath) == 0 else {
                throw JobError(file: finalPath, action: "cannot move into place", systemError: errno)
            }
        }
    }

    /// Where an interrupted run keeps what it finished: `NAME.partial.EXT` beside the output
    /// (never the output's own name, so a partial file never replaces a complete one).
    public static func partialPath(for finalPath: String) -> String {
        let url = URL(fileURLWithPath: finalPath)
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent(ext.isEmpty ? "\(stem).partial" : "\(stem).partial.\(ext)").path
    }

    /// Moves a finished but interrupted output to `partialPath` (replacing an older partial file).
    /// Image sequences have no partial form: their frames are discarded.
    public func commitPartial() throws -> String? {
        if pipe { return finalPath }   // what was written is out already
        guard tempFolder == nil else { discard(); return nil }
        let target = OutputStaging.partialPath(for: finalPath)
        guard rename(writePath, target) == 0 else {
            throw JobError(file: target, action: "cannot move into place", systemError: errno)
        }
        return target
    }

    /// Removes whatever was written.
    public func discard() {
        if pipe { return }
        if let temp = tempFolder {
            try? FileManager.default.removeItem(atPath: temp)
        } else {
            unlink(writePath)
        }
    }
}
