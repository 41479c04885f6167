import Foundation

/// The video stream's keyframes and packet times, read without decoding (a quick scan).
public struct KeyframeIndex {
    var keyframes: [Int64] = []
    /// Presentation times of every video packet, sorted: frame counts per segment.
    public var times: [Int64] = []
    /// Output frames per packet (2 when deinterlacing to one frame per field).
    var framesPerPacket = 1
    /// Decode times go back somewhere (a spliced or concatenated file): frames cannot be told
    /// apart by time, so the video is one segment (cut by no boundary, done in one pass).
    public var jumpsBack = false

    public static func scan(_ path: String, stream: Int) throws -> KeyframeIndex {
        let input = try InputFile(path: path)
        let packet = Packet()
        var index = KeyframeIndex()
        var lastDts: Int64? = nil
        reading: while true {
            switch input.read(into: packet) {
            case .endOfFile, .error: break reading
            case .packet: break
            }
            guard Int(packet.streamIndex) == stream else { continue }
            if packet.dts != noTimestamp {
                if let last = lastDts, packet.dts <= last { index.jumpsBack = true }
                lastDts = packet.dts
            }
            let t = packet.pts != noTimestamp ? packet.pts : packet.dts
            guard t != noTimestamp else { continue }
            index.times.append(t)
            if packet.isKey { index.keyframes.append(t) }
        }
        index.times.sort()
        index.keyframes.sort()
        return index
    }

    /// Segment boundaries at keyframes, every `seconds` of source at least (deterministic from
    /// the input). Segment i covers [b[i-1], b[i]); the first starts at the file's start, the
    /// last runs to its end. `from`, `to`: boundaries inside [from, to) only (parts of a segment).
    public func boundaries(every seconds: Double, timeBase: Rational, from: Int64? = nil, to: Int64? = nil) -> [Int64] {
        guard let first = from ?? times.first, !jumpsBack else { return [] }
        let step = Int64(max(1, seconds / timeBase.doubleValue))
        var out: [Int64] = []
        var last = first
        for k in keyframes where k > first && k - last >= step && to.map({ k < $0 }) ?? true {
            out.append(k)
            last = k
        }
        return out
    }

    /// Boundaries for `count` segments of about equal frame counts, each at the first keyframe at
    /// or after its share (fewer when the input has too few keyframes: the last segments are empty).
    public func boundaries(count: Int) -> [Int64] {
        guard count > 1, let first = times.first, !jumpsBack else { return [] }
        var out: [Int64] = []
        for i in 1..<count {
            let target = times[min(times.count - 1, i * times.count / count)]
            guard let k = keyframes.first(where: { $0 >= target && $0 > first && $0 > (out.last ?? Int64.min) }) else { break }
            out.append(k)
        }
        return out
    }

    public func frames(from start: Int64?, to end: Int64?) -> Int {
        times.filter { t in (start.map { t >= $0 } ?? true) && (end.map { t < $0 } ?? true) }.count * framesPerPacket
    }
}
