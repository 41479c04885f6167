import Foundation
import CFFmpeg
import CUpresShims
import UpresMedia

/// How decoded source frames become the frames the upscaler sees: whether they are
/// deinterlaced first (`DeinterlaceSetup`), and the time base they carry from then on (the
/// source's; halved at field rate, one frame per field).
public struct DecodePlan: Sendable {
    public let deinterlace: DeinterlaceSetup?
    let sourceTimeBase: AVRational
    /// The time base of the frames after deinterlacing: the upscaler's, the encoder's.
    public let timeBase: AVRational
    let sourceFrameRate: AVRational

    init(settings: JobSettings, input: InputFile, stream: Int) throws {
        deinterlace = try DeinterlaceSetup.plan(settings.deinterlace, input: input, stream: stream)
        let st = input.stream(stream)
        sourceTimeBase = st.pointee.time_base
        timeBase = deinterlace?.rate == .field ? av_mul_q(sourceTimeBase, AVRational(num: 1, den: 2)) : sourceTimeBase
        sourceFrameRate = av_guess_frame_rate(input.context, st, nil)
    }

    /// Output frames per source frame: 2 at field rate.
    public var framesPerSourceFrame: Int { deinterlace?.rate == .field ? 2 : 1 }

    /// A source frame rate as the output has it.
    func rate(_ r: AVRational) -> AVRational {
        framesPerSourceFrame == 2 && r.num > 0 && r.den > 0 ? av_mul_q(r, AVRational(num: 2, den: 1)) : r
    }

    /// What this plan changes in the output's frames: part of a resumable job's identity, so a
    /// deinterlaced job never resumes one made without it. Empty when not deinterlacing.
    var identity: String {
        var parts: [String] = []
        if let d = deinterlace { parts.append("bwdif:\(d.filterArgs)") }
        return parts.joined(separator: ",")
    }

    /// The frames one pass keeps: the segment's (source time base; nil = open), in the plan's
    /// time base.
    func window(segmentStart: Int64?, segmentEnd: Int64?) -> FrameWindow {
        let toPlan = { (t: Int64) in av_rescale_q(t, sourceTimeBase, timeBase) }
        return FrameWindow(start: segmentStart.map(toPlan), end: segmentEnd.map(toPlan), sourceEnd: segmentEnd, shift: 0)
    }

    /// Where a pass seeks (source time base), nil = from the file's start. Before the first
    /// frame kept: a deinterlacer needs the frame before it, exactly as one pass over the whole
    /// file would have given it.
    func seekTarget(segmentStart: Int64?) -> Int64? {
        guard var t = segmentStart else { return nil }
        if deinterlace != nil { t -= 1 }
        return t
    }

    /// The source pts (source time base) an output frame's pts (plan time base) comes from: at
    /// field rate, the frame both its fields come from. Where a stopped segment is cut.
    func sourcePts(ofOutput pts: Int64) -> Int64 {
        framesPerSourceFrame == 2 ? av_rescale_q_rnd(pts, timeBase, sourceTimeBase, AV_ROUND_DOWN) : pts
    }

    /// A fresh deinterlacer for one pass (nil when the plan does not deinterlace).
    func makeDeinterlacer(pixelFormat: AVPixelFormat) -> FrameDeinterlacer? {
        deinterlace.map { FrameDeinterlacer(setup: $0, sourceTimeBase: sourceTimeBase, frameRate: sourceFrameRate,
                                            timeBase: timeBase, pixelFormat: pixelFormat) }
    }
}

/// The frames a pass keeps, `start <= pts < end` in the plan's time base.
struct FrameWindow {
    var start: Int64?
    var end: Int64?
    /// A decoded frame (source time base) at or after this ends the pass.
    var sourceEnd: Int64?
    var shift: Int64

    enum Verdict { case before, inside, after }

    func admit(_ frame: Frame) -> Verdict {
        if let start, frame.pts < start { return .before }
        if let end, frame.pts >= end { return .after }
        frame.pts -= shift
        return .inside
    }
}

extension KeyframeIndex {
    /// The index, with frame counts of output frames.
    static func scan(_ path: String, stream: Int, plan: DecodePlan) throws -> KeyframeIndex {
        var index = try scan(path, stream: stream)
        index.framesPerPacket = plan.framesPerSourceFrame
        return index
    }
}

extension UpscaleJob {
    /// The frames the output should have: the container's count (or its estimate from duration
    /// and frame rate), twice as many at field rate.
    public var expectedFrames: InputFile.FrameCount? {
        let factor = decodePlan.framesPerSourceFrame
        return input.expectedFrames(stream: videoStream).map { .init(count: $0.count * factor, exact: $0.exact) }
    }
}
