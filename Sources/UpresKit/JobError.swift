import Foundation

/// A failure tied to one file, printed as `upres: error: FILE: MESSAGE`.
public struct JobError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "\(file): \(message)" }
}

/// The run was stopped on request (Ctrl-C); nothing was written.
public struct JobInterrupted: Error, CustomStringConvertible, Sendable {
    public var description: String { "interrupted" }
}
