import Foundation
import CFFmpeg
import CMediaShims

/// How decoded source frames become the frames the upscaler sees: the part of the file a job
/// works on (`SourceRange`), whether they are deinterlaced first (`DeinterlaceSetup`), and the
/// time base they carry from then on (the source's; halved at field rate, one frame per field).
public struct DecodePlan: Sendable {
    public let deinterlace: DeinterlaceSetup?
    public let range: ResolvedRange?
    let sourceTimeBase: AVRational
    /// The time base of the frames after deinterlacing: the upscaler's, the encoder's.
    public let timeBase: AVRational
    public let sourceFrameRate: AVRational

    /// - Parameters: range: `--start/--duration/--to`; deinterlace: `--deinterlace`.
    public init(range sourceRange: SourceRange?, deinterlace mode: DeinterlaceMode, input: InputFile, stream: Int) throws {
        if sourceRange != nil && StandardStream.isPipe(input.path) {
            throw MediaInputError("--start, --duration and --to need an input file that can be read twice and "
                                  + "seeked, not a pipe (cut it upstream, e.g. ffmpeg -ss S -t D ... -f nut -)")
        }
        range = try sourceRange.map { try ResolvedRange($0, input: input, stream: stream) }
        deinterlace = try DeinterlaceSetup.plan(mode, input: input, stream: stream)
        let st = input.stream(stream)
        sourceTimeBase = st.pointee.time_base
        timeBase = deinterlace?.rate == .field ? av_mul_q(sourceTimeBase, AVRational(num: 1, den: 2)) : sourceTimeBase
        sourceFrameRate = av_guess_frame_rate(input.context, st, nil)
    }

    /// Output frames per source frame: 2 at field rate.
    public var framesPerSourceFrame: Int { deinterlace?.rate == .field ? 2 : 1 }

    /// A source frame rate as the output has it.
    public func rate(_ r: AVRational) -> AVRational {
        framesPerSourceFrame == 2 && r.num > 0 && r.den > 0 ? av_mul_q(r, AVRational(num: 2, den: 1)) : r
    }

    /// What this plan changes in the output's frames: part of a resumable job's identity, so a
    /// different range or deinterlacing never resumes a job made without it. Empty for the
    /// whole file, not deinterlaced.
    public var identity: String {
        var parts: [String] = []
        if let d = deinterlace { parts.append("bwdif:\(d.filterArgs)") }
        if let r = range { parts.append("range:\(r.startMicros)-\(r.endMicros.map(String.init) ?? "end")") }
        return parts.joined(separator: ",")
    }

    /// The frames one pass keeps: the segment's (source time base; nil = open) within the range,
    /// in the plan's time base.
    public func window(segmentStart: Int64?, segmentEnd: Int64?) -> FrameWindow {
        let start = [segmentStart, range?.startPts].compactMap { $0 }.max()
        let end = [segmentEnd, range?.endPts].compactMap { $0 }.min()
        let toPlan = { (t: Int64) in av_rescale_q(t, sourceTimeBase, timeBase) }
        return FrameWindow(start: start.map(toPlan), end: end.map(toPlan), sourceEnd: end,
                           shift: range.map { toPlan($0.startPts) } ?? 0)
    }

    /// Where a pass seeks (source time base), nil = from the file's start. Before the first
    /// frame kept: a deinterlacer needs the frame before it, exactly as one pass over the whole
    /// file would have given it; `copies` (a pass that also copies audio...) seeks a second
    /// earlier so no packet of the range lies before the point it lands on.
    public func seekTarget(segmentStart: Int64?, copies: Bool) -> Int64? {
        guard var t = [segmentStart, range?.startPts].compactMap({ $0 }).max() else { return nil }
        if deinterlace != nil { t -= 1 }
        if copies && range != nil { t -= av_rescale_q(Int64(AV_TIME_BASE), upres_av_time_base_q(), sourceTimeBase) }
        return t
    }

    /// The source pts (source time base) an output frame's pts (plan time base) comes from: at
    /// field rate, the frame both its fields come from. Where a stopped segment is cut.
    public func sourcePts(ofOutput pts: Int64) -> Int64 {
        let t = pts + (range.map { av_rescale_q($0.startPts, sourceTimeBase, timeBase) } ?? 0)
        return framesPerSourceFrame == 2 ? av_rescale_q_rnd(t, timeBase, sourceTimeBase, AV_ROUND_DOWN) : t
    }

    public var copyWindow: CopyWindow { CopyWindow(range: range) }

    /// A fresh deinterlacer for one pass (nil when the plan does not deinterlace).
    public func makeDeinterlacer(pixelFormat: AVPixelFormat) -> FrameDeinterlacer? {
        deinterlace.map { FrameDeinterlacer(setup: $0, sourceTimeBase: sourceTimeBase, frameRate: sourceFrameRate,
                                            timeBase: timeBase, pixelFormat: pixelFormat) }
    }
}

/// The frames a pass keeps, `start <= pts < end` in the plan's time base; kept frames are
/// shifted so the range starts at 0.
public struct FrameWindow {
    public var start: Int64?
    public var end: Int64?
    /// A decoded frame (source time base) at or after this ends the pass.
    public var sourceEnd: Int64?
    public var shift: Int64

    public enum Verdict { case before, inside, after }

    public func admit(_ frame: Frame) -> Verdict {
        if let start, frame.pts < start { return .before }
        if let end, frame.pts >= end { return .after }
        frame.pts -= shift
        return .inside
    }
}

extension KeyframeIndex {
    /// The index of a range only: packets from the keyframe before its start (one seek) up to
    /// its end, times within it. Frame counts are of output frames.
    public static func scan(_ path: String, stream: Int, plan: DecodePlan) throws -> KeyframeIndex {
        guard let range = plan.range else {
            var index = try scan(path, stream: stream)
            index.framesPerPacket = plan.framesPerSourceFrame
            return index
        }
        let input = try InputFile(path: path)
        _ = av_seek_frame(input.context, Int32(stream), range.startPts, AVSEEK_FLAG_BACKWARD)
        let packet = Packet()
        var index = KeyframeIndex()
        index.framesPerPacket = plan.framesPerSourceFrame
        reading: while true {
            switch input.read(into: packet) {
            case .endOfFile, .error: break reading
            case .packet: break
            }
            guard Int(packet.streamIndex) == stream else { continue }
            // In decode order: once a packet decodes at the end, every later one shows after it.
            if let end = range.endPts, packet.dts != noTimestamp, packet.dts >= end { break }
            let t = packet.pts != noTimestamp ? packet.pts : packet.dts
            guard t != noTimestamp, t >= range.startPts, range.endPts.map({ t < $0 }) ?? true else { continue }
            index.times.append(t)
            if packet.isKey { index.keyframes.append(t) }
        }
        index.times.sort()
        index.keyframes.sort()
        return index
    }
}
