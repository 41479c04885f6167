import CFFmpeg
import CMediaShims

/// What FFmpeg's `idet` filter says about the first frames of a video stream: counts of its
/// multi-frame verdicts (which look at several frames, so they misfire less than single ones).
public struct InterlaceReport: Sendable, Equatable {
    public var topFieldFirst = 0
    public var bottomFieldFirst = 0
    public var progressive = 0
    public var undetermined = 0
    public var frames = 0

    public init(topFieldFirst: Int = 0, bottomFieldFirst: Int = 0, progressive: Int = 0, undetermined: Int = 0, frames: Int = 0) {
        self.topFieldFirst = topFieldFirst
        self.bottomFieldFirst = bottomFieldFirst
        self.progressive = progressive
        self.undetermined = undetermined
        self.frames = frames
    }

    public var interlacedFrames: Int { topFieldFirst + bottomFieldFirst }

    /// Interlaced when most of the frames looked at (and at least 5) are combed and combed
    /// frames outnumber progressive ones two to one. Still or flat pictures come out
    /// undetermined, and leave the video as it is; so does a short clip of moving graphics
    /// that idet finds combed in half its frames.
    public var isInterlaced: Bool {
        interlacedFrames >= 5 && 2 * interlacedFrames > frames && interlacedFrames >= 2 * progressive
    }

    public var isTopFieldFirst: Bool { topFieldFirst >= bottomFieldFirst }

    public var summary: String {
        "idet: \(topFieldFirst) tff, \(bottomFieldFirst) bff, \(progressive) progressive, "
            + "\(undetermined) undetermined of the first \(frames) frames"
    }
}

public enum InterlaceDetection {
    /// Codecs that only carry progressive pictures (images and screen/animation codecs).
    public static let progressiveOnlyCodecs: Set<AVCodecID> = [
        AV_CODEC_ID_PNG, AV_CODEC_ID_APNG, AV_CODEC_ID_GIF, AV_CODEC_ID_WEBP, AV_CODEC_ID_QTRLE, AV_CODEC_ID_BMP,
        AV_CODEC_ID_TIFF, AV_CODEC_ID_MSRLE, AV_CODEC_ID_TSCC, AV_CODEC_ID_TSCC2, AV_CODEC_ID_RSCC,
    ]

    /// True when a stream's field-order tag says interlaced (tt, bb, tb, bt).
    public static func isTagged(_ order: AVFieldOrder) -> Bool {
        order == AV_FIELD_TT || order == AV_FIELD_BB || order == AV_FIELD_TB || order == AV_FIELD_BT
    }

    /// Decodes the first `frames` frames of the stream (a separate demuxer: the caller's input
    /// keeps its read position) through `idet`. nil when no frame could be decoded.
    public static func scan(path: String, stream index: Int, frames limit: Int = 50) throws -> InterlaceReport? {
        let input = try InputFile(path: path)
        let decoder = try VideoDecoder(input: input, streamIndex: index, threads: 2)
        let st = input.stream(index)
        let packet = Packet(), frame = Frame(), out = Frame()
        var graph: FilterChain? = nil
        var report = InterlaceReport()
        var decoded = 0

        func collect() throws {
            while let g = graph, try g.pull(into: out) {
                report.frames += 1
                func count(_ key: String) -> Int {
                    guard let e = av_dict_get(out.pointer.pointee.metadata, "lavfi.idet.multiple.\(key)", nil, 0) else { return 0 }
                    return Int(Double(String(cString: e.pointee.value).trimmingCharacters(in: .whitespaces)) ?? 0)
                }
                // Running totals: the last frame's are the scan's.
                report.topFieldFirst = count("tff")
                report.bottomFieldFirst = count("bff")
                report.progressive = count("progressive")
                report.undetermined = count("undetermined")
            }
        }
        func take() throws -> Bool {
            while decoded < limit {
                switch decoder.receive(into: frame) {
                case .frame:
                    if graph == nil {
                        let format = VideoFormat(width: frame.width, height: frame.height, pixelFormat: frame.format,
                                                 sampleAspectRatio: frame.pointer.pointee.sample_aspect_ratio)
                        graph = try FilterChain(input: format, timeBase: st.pointee.time_base,
                                                frameRate: av_guess_frame_rate(input.context, st, nil),
                                                filters: [("idet", "")], threads: 1)
                    }
                    try graph!.push(frame)
                    decoded += 1
                    try collect()
                case .needsInput: return true
                case .endOfStream: return false
                case .damaged: continue
                }
            }
            return false
        }
        reading: while decoded < limit {
            switch input.read(into: packet) {
            case .packet:
                guard Int(packet.streamIndex) == index else { continue }
                while case .full = decoder.send(packet) {
                    if try !take() { break reading }
                }
                if try !take() { break reading }
            case .endOfFile, .error:
                _ = decoder.send(nil)
                _ = try take()
                break reading
            }
        }
        guard let graph else { return nil }
        try graph.push(nil)
        try collect()
        return report
    }
}
