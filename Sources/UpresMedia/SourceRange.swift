import Foundation
import CFFmpeg
import CMediaShims

/// `--start`/`--duration`/`--to`: the part of the source a job works on, in seconds from the
/// start of the file (as `ffmpeg -ss S -t D` counts). The output starts at 0.
public struct SourceRange: Sendable, Equatable {
    public var start: Double
    /// Where it stops (exclusive); nil = the end of the file.
    public var end: Double?

    public init(start: Double = 0, end: Double? = nil) {
        self.start = start
        self.end = end
    }

    /// From the options as given; throws a message for people on nonsense.
    public init(start: String?, duration: String?, to: String?) throws {
        if duration != nil && to != nil { throw RangeError("use either --duration or --to, not both") }
        var s = 0.0
        if let start {
            guard let v = SourceRange.seconds(start) else { throw RangeError("--start: '\(start)' is not a time (12.5, 1:30, 0:01:30.5)") }
            s = v
        }
        self.start = s
        if let duration {
            guard let d = SourceRange.seconds(duration) else { throw RangeError("--duration: '\(duration)' is not a time (12.5, 1:30, 0:01:30.5)") }
            guard d > 0 else { throw RangeError("--duration must be more than 0") }
            end = s + d
        } else if let to {
            guard let t = SourceRange.seconds(to) else { throw RangeError("--to: '\(to)' is not a time (12.5, 1:30, 0:01:30.5)") }
            guard t > s else { throw RangeError("--to (\(SourceRange.label(t))) must be after --start (\(SourceRange.label(s)))") }
            end = t
        } else {
            end = nil
        }
    }

    /// Seconds from `12.5`, `90`, `MM:SS`, `HH:MM:SS` or `HH:MM:SS.frac`; nil for anything else
    /// (negative times, minutes or seconds of 60 and more after a colon, letters).
    public static func seconds(_ text: String) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count) else { return nil }
        let number = #/[0-9]+(\.[0-9]+)?/#
        guard parts.allSatisfy({ $0.wholeMatch(of: number) != nil }) else { return nil }
        let values = parts.compactMap(Double.init)
        guard values.count == parts.count else { return nil }
        if parts.count > 1 {
            // After a colon: whole minutes/hours before it, seconds and minutes under 60.
            guard parts.dropLast().allSatisfy({ !$0.contains(".") }), values.last! < 60 else { return nil }
            if parts.count == 3 && values[1] >= 60 { return nil }
        }
        let total = values.reduce(0) { $0 * 60 + $1 }
        return total.isFinite ? total : nil
    }

    /// `12.5s`, `3s`: a time as file names and messages show it.
    public static func label(_ seconds: Double) -> String {
        var s = String(format: "%.3f", seconds)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s + "s"
    }

    /// `1s-3s`, `60s-end`: the part of a default output name that tells the range.
    public var label: String { "\(SourceRange.label(start))-\(end.map(SourceRange.label) ?? "end")" }
}

public struct RangeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A range placed on one input: absolute times (file start + offset) in AV_TIME_BASE units and
/// in the video stream's time base.
public struct ResolvedRange: Sendable {
    public let range: SourceRange
    public let startMicros: Int64
    public let endMicros: Int64?
    public let startPts: Int64
    public let endPts: Int64?

    /// Refuses a start at or beyond the end of the video.
    public init(_ range: SourceRange, input: InputFile, stream: Int) throws {
        self.range = range
        let ctx = input.context.pointee
        let origin = ctx.start_time != noTimestamp ? ctx.start_time : 0
        if let d = input.durationSeconds, range.start >= d {
            throw RangeError("--start \(SourceRange.label(range.start)) is at or beyond the end of the video "
                             + "(\(SourceRange.label(d)))")
        }
        startMicros = origin + Int64((range.start * Double(AV_TIME_BASE)).rounded())
        endMicros = range.end.map { origin + Int64(($0 * Double(AV_TIME_BASE)).rounded()) }
        let tb = input.stream(stream).pointee.time_base
        startPts = av_rescale_q(startMicros, upres_av_time_base_q(), tb)
        endPts = endMicros.map { av_rescale_q($0, upres_av_time_base_q(), tb) }
    }

    /// Seconds of the source the range covers (clipped to the file), when known.
    public func seconds(fileDuration: Double?) -> Double? {
        let end = [range.end, fileDuration].compactMap { $0 }.min()
        return end.map { max(0, $0 - range.start) }
    }
}

/// Stream copies (audio, subtitles...) of a range: packets that start inside it, shifted so
/// the output starts at 0, as `ffmpeg -ss S -t D -c copy` does.
public struct CopyWindow {
    let range: ResolvedRange?
    public init(range: ResolvedRange?) { self.range = range }
    /// Packets are interleaved by time within a few seconds: once one is this far past the end,
    /// no packet of the range is left to read.
    static let interleaveMargin: Int64 = 10 * Int64(AV_TIME_BASE)

    public enum Verdict { case keep, drop, end }

    /// Judges a packet of a copied stream (timestamps in `timeBase`) and, when kept, shifts it.
    public func admit(_ packet: Packet, timeBase: AVRational) -> Verdict {
        guard let range else { return .keep }
        let t = packet.pts != noTimestamp ? packet.pts : packet.dts
        guard t != noTimestamp else { return .drop }
        let q = upres_av_time_base_q()
        if let end = range.endMicros {
            if av_compare_ts(t, timeBase, end + CopyWindow.interleaveMargin, q) >= 0 { return .end }
            if av_compare_ts(t, timeBase, end, q) >= 0 { return .drop }
        }
        if av_compare_ts(t, timeBase, range.startMicros, q) < 0 { return .drop }
        let shift = av_rescale_q(range.startMicros, q, timeBase)
        if packet.pts != noTimestamp { packet.pointer.pointee.pts -= shift }
        if packet.dts != noTimestamp { packet.pointer.pointee.dts -= shift }
        return .keep
    }

    /// Positions a demuxer a little before the range, so every packet in it is still ahead.
    public func seek(_ input: InputFile) {
        guard let range else { return }
        let origin = input.context.pointee.start_time != noTimestamp ? input.context.pointee.start_time : 0
        let target = max(origin, range.startMicros - CopyWindow.interleaveMargin)
        if target > origin {
            // On failure the demuxer stays at the start: slower, still right.
            _ = av_seek_frame(input.context, -1, target, AVSEEK_FLAG_BACKWARD)
        }
    }

    /// Clips and shifts the output's chapters to the range; drops those outside it.
    func clipChapters(_ ctx: UnsafeMutablePointer<AVFormatContext>) {
        guard let range, let list = ctx.pointee.chapters else { return }
        var kept = 0
        let q = upres_av_time_base_q()
        for i in 0..<Int(ctx.pointee.nb_chapters) {
            guard let c = list[i] else { continue }
            let start = av_rescale_q(range.startMicros, q, c.pointee.time_base)
            let end = range.endMicros.map { av_rescale_q($0, q, c.pointee.time_base) } ?? Int64.max
            if c.pointee.end <= start || c.pointee.start >= end {
                av_dict_free(&c.pointee.metadata)
                av_free(c)
                continue
            }
            c.pointee.start = max(c.pointee.start, start) - start
            c.pointee.end = min(c.pointee.end, end) - start
            list[kept] = c
            kept += 1
        }
        ctx.pointee.nb_chapters = UInt32(kept)
    }
}
