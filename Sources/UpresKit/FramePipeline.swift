import Foundation
import UpresMedia

/// The frame path of a job: decoded frames go in, upscaled frames come out in the same order,
/// possibly later (the tile pipeline keeps several frames in flight). The job submits while
/// `isFull` is false and takes finished frames with `next`.
///
///     while pipeline.isFull { try encode(pipeline.next(wait: true)!) }
///     try pipeline.submit(decoded)
///     while let done = try pipeline.next(wait: false) { try encode(done) }
///     pipeline.finish()            // end of input: then next(wait: true) until nil
public protocol FramePipeline: AnyObject {
    var name: String { get }
    /// True when a submit now would exceed the frames-in-flight capacity.
    var isFull: Bool { get }
    /// Takes a reference to the frame (the caller may reuse its `Frame` afterwards).
    func submit(_ frame: Frame) throws
    /// The next upscaled frame in submission order; nil when none is ready (`wait: false`) or
    /// none is left (after `finish`).
    func next(wait: Bool) throws -> Frame?
    /// No more frames will be submitted.
    func finish()
    /// Stops at once: frames not yet done are dropped.
    func abort()
    /// Adds the pipeline's own figures (tiles, classes, queues, workers, stage times).
    func fill(_ stats: inout PipelineStats)
}

extension Duration {
    /// This duration in seconds, as a Double.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
