import Foundation

/// A failure tied to one file, printed as `upres: error: FILE: MESSAGE`.
public struct JobError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    /// The system error behind it (errno), when a system call failed.
    public let systemError: Int32?
    /// The error it wraps, when one was caught on the way up.
    public let cause: (any Error)?

    public init(file: String, message: String, cause: (any Error)? = nil) {
        self.file = file
        self.message = message
        systemError = nil
        self.cause = cause
    }

    /// `action` failed with the system error `code`: "ACTION: No space left on device".
    public init(file: String, action: String, systemError code: Int32) {
        self.file = file
        message = "\(action): \(String(cString: strerror(code)))"
        systemError = code
        cause = nil
    }

    public var description: String { "\(file): \(message)" }
}

/// The run was stopped on request (Ctrl-C); nothing was written.
public struct JobInterrupted: Error, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "interrupted" }
}
