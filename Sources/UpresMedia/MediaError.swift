import CFFmpeg
import CMediaShims

/// An error reported by FFmpeg, with the call that failed and what upres was doing.
///
/// `description` reads like `avcodec_open2 failed: Invalid argument (opening encoder libx264 for 'out.mp4')`.
public struct MediaError: Error, CustomStringConvertible, Sendable {
    /// The negative AVERROR code.
    public let code: Int32
    /// The C function that failed.
    public let function: String
    /// What upres was doing, naming the file or stream.
    public let context: String

    public init(code: Int32, function: String, context: String) {
        self.code = code
        self.function = function
        self.context = context
    }

    /// The system error (errno) behind the code, for codes that are `AVERROR(errno)`; FFmpeg's
    /// own codes (`AVERROR_EOF`, `AVERROR_INVALIDDATA`...) give values no errno has.
    public var systemError: Int32 { -code }

    /// FFmpeg's text for the code (`av_strerror`).
    public var message: String { MediaError.text(for: code) }

    public var description: String { "\(function) failed: \(message) (\(context))" }

    public static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { upres_av_strerror(code, $0.baseAddress, $0.count) }
        return String(cString: buffer)
    }

    // Named codes (the AVERROR macros do not import; see CMediaShims).
    public static let endOfFile = UPRES_AVERROR_EOF
    public static let tryAgain = UPRES_AVERROR_EAGAIN
    public static let invalidData = UPRES_AVERROR_INVALIDDATA
    public static let noMemory = upres_averror(ENOMEM)
}

/// Throws a `MediaError` when `code` is negative, otherwise returns it.
@discardableResult
@inline(__always)
public func avCheck(_ code: Int32, _ function: String, _ context: @autoclosure () -> String) throws -> Int32 {
    if code < 0 { throw MediaError(code: code, function: function, context: context()) }
    return code
}

/// A problem with the user's input or settings that is not an FFmpeg call failure.
public struct MediaInputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The output file could not be created (`avio_open`: no such folder, no permission, read-only
/// file system): the caller names the folder rather than the muxer.
public struct OutputCreateError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let cause: MediaError
    public var description: String { cause.description }
}
