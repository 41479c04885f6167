import Foundation
import UpresMedia

/// What a failed segmented job does with its work folder (`.NAME.upres/`): a job that fails for
/// good (a damaged input, a setting the muxer refuses) leaves nothing behind, since a rerun would
/// fail the same way; one stopped on request, or failed for a reason of the machine's that a
/// rerun can get past (a full disk, an I/O error), keeps the segments it finished.
enum WorkFolderPolicy {
    /// errno values of failures that are the machine's, not the input's.
    static let transientErrnos: [Int32] = [ENOSPC, EDQUOT, EFBIG, EIO, EROFS, ENOMEM, ENFILE, EMFILE, ESTALE]

    static func isTransient(_ error: Error) -> Bool {
        switch error {
        case let e as MediaError: return transientErrnos.contains(e.systemError)
        case let e as OutputCreateError: return isTransient(e.cause)
        case let e as CocoaError:
            if [.fileWriteOutOfSpace, .fileWriteVolumeReadOnly].contains(e.code) { return true }
            return (e.underlying as? POSIXError).map { transientErrnos.contains($0.code.rawValue) } ?? false
        case let e as POSIXError: return transientErrnos.contains(e.code.rawValue)
        case let e as JobError:   // wrapped on the way up: the system error or the cause it keeps
            if let code = e.systemError { return transientErrnos.contains(code) }
            return e.cause.map(isTransient) ?? false
        default: return false
        }
    }

    /// Whether `work` is removed after `error`.
    static func discards(_ work: URL, after error: Error) -> Bool {
        if error is JobInterrupted { return false }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []
        let finished = names.contains { $0.hasPrefix("segment-") && $0.hasSuffix(".seg") }
        return !finished || !isTransient(error)
    }
}
