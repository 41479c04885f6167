import CFFmpeg

/// Makes copied packets' timestamps acceptable to the muxer the way the ffmpeg CLI does when it
/// stream-copies (fftools/ffmpeg_mux.c, `write_packet`), so a damaged input (a spliced MPEG-TS,
/// a broken capture) finishes instead of stopping at `av_interleaved_write_frame: Invalid argument`:
///
/// - a decode time after the presentation time is replaced by the middle of the two and the
///   previous decode time + 1 (ffmpeg's "Invalid DTS ... replacing by guess");
/// - a decode time that does not increase is raised to the previous one + 1 (or kept equal where
///   the container allows it, `AVFMT_TS_NONSTRICT`), and the presentation time with it
///   (ffmpeg's "Non-monotonous DTS ... changing to");
/// - a packet with neither time is dropped (the muxer would have to invent one).
///
/// Works on packets already rescaled to the output stream's time base (the rescale itself can
/// make two times equal). One instance per output file; streams are told apart by index.
///
///     var repair = PacketTimestampRepair(format: out.format)
///     if repair.fix(packet) { try out.write(packet) }
public struct PacketTimestampRepair {
    private var lastDts: [Int32: Int64] = [:]
    private let strict: Bool
    private let timeless: Bool
    /// Packets whose times were changed.
    public private(set) var retimed = 0
    /// Packets dropped because they had no time at all.
    public private(set) var dropped = 0

    /// The repairs `output`'s muxer needs.
    public init(output: OutputFile) { self.init(format: output.format) }

    init(format: UnsafePointer<AVOutputFormat>) {
        strict = (format.pointee.flags & AVFMT_TS_NONSTRICT) == 0
        timeless = (format.pointee.flags & AVFMT_NOTIMESTAMPS) != 0
    }

    /// Repairs `packet` in place; false when it must be dropped.
    public mutating func fix(_ packet: Packet) -> Bool {
        if timeless { return true }
        let p = packet.pointer
        let stream = p.pointee.stream_index
        var pts = p.pointee.pts, dts = p.pointee.dts
        if pts == noTimestamp && dts == noTimestamp {
            dropped += 1
            return false
        }
        // Copied streams (audio, subtitles, data, cover art) have no reordering: a missing
        // decode time is the presentation time, as the muxer itself would assume.
        if dts == noTimestamp { dts = pts }
        var changed = false
        let last = lastDts[stream]
        if pts != noTimestamp && dts > pts {
            let next = (last ?? Int64.min + 1) &+ 1
            let values = [pts, dts, next].sorted()
            pts = values[1]
            dts = values[1]
            changed = true
        }
        if let last {
            let least = last + (strict ? 1 : 0)
            if dts < least {
                if pts != noTimestamp && pts >= dts { pts = max(pts, least) }
                dts = least
                changed = true
            }
        }
        if changed { retimed += 1 }
        p.pointee.pts = pts
        p.pointee.dts = dts
        lastDts[stream] = dts
        return true
    }

    /// A warning for the job's report, or nil when every packet was fine.
    public var warning: String? {
        guard retimed > 0 || dropped > 0 else { return nil }
        var parts: [String] = []
        func packets(_ n: Int) -> String { n == 1 ? "1 packet" : "\(n) packets" }
        if retimed > 0 { parts.append("\(packets(retimed)) re-timed (out-of-order or repeated timestamps)") }
        if dropped > 0 { parts.append("\(packets(dropped)) without timestamps dropped") }
        return "copied streams: " + parts.joined(separator: ", ")
    }
}
