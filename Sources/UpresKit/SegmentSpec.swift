import Foundation

/// One segment's pass: the frames with `start <= pts < end` (source time base), video only,
/// into the segment file `path` (`SegmentFileWriter`).
struct SegmentSpec {
    var start: Int64?
    var end: Int64?
    var path: String
    /// Frames of the segments before this one, and of those done before this process started.
    var framesBefore: Int
    var framesAtStart: Int
    var framesTotal: Int?
    var jobStarted: Date
}
