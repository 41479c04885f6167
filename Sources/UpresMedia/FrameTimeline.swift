
/// Keeps source timestamps: best-effort pts from the decoder, a synthesised one only when
/// a frame has none, and strictly increasing values (encoders and muxers need that).
public struct FrameTimeline {
    public private(set) var adjustedTimestamps = 0
    private var lastPts: Int64? = nil
    private var lastDuration: Int64 = 0

    public init() {}

    public mutating func assignTimestamp(to frame: Frame, timeBase: Rational, frameRate: Rational) {
        var pts = frame.bestEffortTimestamp
        if pts == noTimestamp { pts = frame.pts }
        let nominal: Int64 = frameRate.num > 0
            ? max(1, frameRate.inverse.rescale(1, to: timeBase)) : 1
        if pts == noTimestamp {
            pts = lastPts.map { $0 + max(lastDuration, nominal) } ?? 0
            adjustedTimestamps += 1
        } else if let last = lastPts, pts <= last {
            pts = last + 1
            adjustedTimestamps += 1
        }
        frame.pts = pts
        if frame.duration <= 0 { frame.duration = nominal }
        lastDuration = frame.duration
        lastPts = pts
    }
}
