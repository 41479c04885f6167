import Foundation

/// What a finished job did.
public struct JobResult: Sendable {
    public var output: String
    public var framesDecoded: Int
    public var framesEncoded: Int
    public var framesExpected: Int?
    public var inputSize: (width: Int32, height: Int32)
    public var outputSize: (width: Int32, height: Int32)
    public var encoder: String
    public var pixelFormat: String
    public var copiedStreams: Int
    public var elapsed: Double
    public var warnings: [String]
    /// Stopped on request before the end: `output` holds the frames done so far (playable).
    public var interrupted: Bool = false
    /// The last statistics snapshot (class totals, stage times...).
    public var stats: PipelineStats = PipelineStats()
    /// The last encoded frame's pts (source time base).
    public var lastFramePts: Int64? = nil
    /// Frames an earlier, interrupted run had finished (resumed, not redone).
    public var framesResumed: Int = 0
}
